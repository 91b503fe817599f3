# Other extensions without -Publisher, and removal of the old agent
Set-AzVMExtension -ResourceGroupName "ops-rg" -VMName "win-07" -Location "westeurope" -Name "Monitoring" -ExtensionType "MicrosoftMonitoringAgent" -TypeHandlerVersion "1.0"
Set-AzVMExtension -ResourceGroupName "ops-rg" -VMName "win-07" -Location "westeurope" -Name "Custom" -ExtensionType $extensionType -TypeHandlerVersion "1.0"
Remove-AzVMExtension -ResourceGroupName "ops-rg" -VMName "win-07" -Name "ManagedIdentityExtensionForWindows" -Force
