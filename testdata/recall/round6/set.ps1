Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Type:"ManagedIdentityExtensionForLinux" -TypeHandlerVersion 1.0 -Location westus
Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -ExtensionType "ManagedIdentityExtensionForWindows" -Location westus -Publisher:'Microsoft.ManagedIdentity'
