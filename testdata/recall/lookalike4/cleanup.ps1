# Removes the retired extension everywhere.
$old = @('ManagedIdentityExtensionForWindows', 'ManagedIdentityExtensionForLinux')
foreach ($vm in Get-AzVM -ResourceGroupName $rg) {
    Get-AzVMExtension -ResourceGroupName $rg -VMName $vm.Name |
        Where-Object { $_.Publisher -eq 'Microsoft.ManagedIdentity' -and $old -contains $_.ExtensionType } |
        ForEach-Object { Remove-AzVMExtension -ResourceGroupName $rg -VMName $vm.Name -Name $_.Name -Force }
}
Write-Warning "Set-AzVMExtension -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows is retired"
