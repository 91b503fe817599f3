# Migration done: the extension is removed, IMDS is used instead.
Remove-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name ManagedIdentityExtensionForWindows -Force
Remove-AzureRmVMExtension -ResourceGroupName $rg -VMName $vm -Name msi -Force
$vmss = Remove-AzVmssExtension -VirtualMachineScaleSet $vmss -Name ManagedIdentityExtensionForLinux

# Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name msi -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0

<#
Old way, kept for reference:
Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name msi `
    -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows
#>

Write-Host "Do not run Set-AzVMExtension -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows any more"
Write-Warning 'Set-AzVMExtension -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForLinux fails on new VMs'

$help = @"
Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows
"@

# Other extensions on the same VM stay.
Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name CustomScriptExtension `
    -Publisher Microsoft.Compute -ExtensionType CustomScriptExtension -TypeHandlerVersion 1.10 `
    -Settings @{ "commandToExecute" = "powershell -File setup.ps1" }
$monitoringPublisher = 'Microsoft.Azure.Monitor'
Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name AzureMonitorWindowsAgent -Publisher $monitoringPublisher -ExtensionType AzureMonitorWindowsAgent -TypeHandlerVersion 1.0

# The identity resource type shares the provider namespace and is legitimate.
New-AzUserAssignedIdentity -ResourceGroupName $rg -Name 'id-app'   # Microsoft.ManagedIdentity/userAssignedIdentities
Get-AzVMExtension -ResourceGroupName $rg -VMName $vm | Where-Object Publisher -eq 'Microsoft.ManagedIdentity'
