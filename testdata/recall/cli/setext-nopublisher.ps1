$rg = 'rg-app'
Set-AzVMExtension -ResourceGroupName $rg -VMName 'vm-app-01' -Name 'msi' -Type 'ManagedIdentityExtensionForWindows' -TypeHandlerVersion '1.0' -Location 'westeurope' -Settings @{ port = 50342 }

Set-AzureRmVMExtension -ResourceGroupName $rg `
    -VMName 'vm-app-02' `
    -Name 'ManagedIdentityExtensionForLinux' `
    -ExtensionType 'ManagedIdentityExtensionForLinux' `
    -TypeHandlerVersion '1.0' `
    -Location 'westeurope'

$extension = @{
    ResourceGroupName  = $rg
    VMName             = 'vm-app-03'
    Name               = 'identity'
    ExtensionType      = 'ManagedIdentityExtensionForWindows'
    TypeHandlerVersion = '1.0'
    Location           = 'westeurope'
}
Set-AzVMExtension @extension

# look-alikes
Set-AzVMExtension -ResourceGroupName $rg -VMName 'vm-app-01' -Name 'setup' -Publisher 'Microsoft.Compute' -Type 'CustomScriptExtension' -TypeHandlerVersion '1.10' -Location 'westeurope'
Remove-AzVMExtension -ResourceGroupName $rg -VMName 'vm-app-01' -Name 'ManagedIdentityExtensionForWindows' -Force
Get-AzVMExtension -ResourceGroupName $rg -VMName 'vm-app-01' | Where-Object { $_.ExtensionType -eq 'ManagedIdentityExtensionForWindows' }
Write-Host "Set-AzVMExtension -Type ManagedIdentityExtensionForWindows is no longer supported"
