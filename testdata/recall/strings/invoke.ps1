Invoke-Expression "Set-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-01 -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0 -Location westus"
iex 'az vm extension set -g rg-app --vm-name vm-app-02 -n ManagedIdentityExtensionForWindows --publisher Microsoft.ManagedIdentity --version 1.0'
$cmd = "az login -u $subscriptionId@50342"
Invoke-Expression $cmd

# look-alikes
Invoke-Expression "Remove-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-01 -Name ManagedIdentityExtensionForWindows -Force"
iex "az vm extension delete -g rg-app --vm-name vm-app-02 -n ManagedIdentityExtensionForWindows"
Write-Output "Set-AzVMExtension -Publisher Microsoft.ManagedIdentity was the old way"
