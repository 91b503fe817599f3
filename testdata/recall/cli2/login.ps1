$subscriptionId = '00000000-1111-2222-3333-444444444444'
az login -u "$($subscriptionId)@50342"
az login --username "$subscriptionId@50342"
$type = 'ManagedIdentityExtensionForLinux'
Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher 'Microsoft.ManagedIdentity' -ExtensionType $type -TypeHandlerVersion 1.0 -Location westus

# look-alikes: name only, other publisher; the identity cmdlets of today
Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name 'ManagedIdentityExtensionForWindows' -Publisher 'Microsoft.Compute' -ExtensionType 'CustomScriptExtension' -TypeHandlerVersion 1.10 -Location westus
Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name ama -Publisher 'Microsoft.Azure.Monitor' -ExtensionType 'AzureMonitorWindowsAgent' -TypeHandlerVersion 1.0 -Location westus
Update-AzVM -ResourceGroupName rg -VM $vm -IdentityType SystemAssigned
Connect-AzAccount -Identity
# Set-AzVMExtension -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows (old way)
