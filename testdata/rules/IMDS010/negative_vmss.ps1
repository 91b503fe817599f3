# The desired end state: removed from the model, model pushed, instances upgraded.
$vmss = Get-AzVmss -ResourceGroupName "rg-web" -VMScaleSetName "web-ss"
$vmss = Remove-AzVmssExtension -VirtualMachineScaleSet $vmss -Name "ManagedIdentityExtensionForLinux"
Update-AzVmss -ResourceGroupName "rg-web" -Name "web-ss" -VirtualMachineScaleSet $vmss
Update-AzVmssInstance -ResourceGroupName "rg-web" -VMScaleSetName "web-ss" -InstanceId "*"
# Other extensions on a new scale set are not the Managed Identity one.
$cfg = New-AzVmssConfig -Location "westeurope" -SkuCapacity 1 -SkuName "Standard_B1s"
Add-AzVmssExtension -VirtualMachineScaleSet $cfg -Name "health" -Publisher "Microsoft.ManagedServices" -Type "ApplicationHealthLinux" -TypeHandlerVersion 1.0
New-AzVmss -ResourceGroupName "rg-web" -Name "web-ss-2" -VirtualMachineScaleSet $cfg
