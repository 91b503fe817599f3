@echo off
rem Old identity setup
call az vm assign-identity --resource-group rg-app --name vm-app-09 --port 50342
powershell -NoProfile -Command "Set-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-09 -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0 -Location westus"
rem az vm extension set --publisher Microsoft.ManagedIdentity -n ManagedIdentityExtensionForWindows
powershell -NoProfile -Command "Remove-AzVMExtension -ResourceGroupName rg-app -VMName vm-app-09 -Name msi -Force"
