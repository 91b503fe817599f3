az login `
  -u "$subscriptionId@50342"
Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name 'msi' `
  -Type "ManagedIdentityExtensionForWindows" -TypeHandlerVersion "1.0" -Location $location
Remove-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name 'msi' -Force
