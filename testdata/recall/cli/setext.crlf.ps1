Set-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-04 -Name msi -Type ManagedIdentityExtensionForLinux -TypeHandlerVersion 1.0 -Location westeurope
Remove-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-04 -Name msi -Force
