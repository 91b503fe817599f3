$cfg = New-AzureRmVmssConfig -Location "northeurope" -SkuCapacity 3 -SkuName "Standard_D2s_v3" -UpgradePolicyMode Manual `
    | Add-AzureRmVmssExtension -Name "msi" -Publisher "Microsoft.ManagedIdentity" -Type "ManagedIdentityExtensionForWindows" -TypeHandlerVersion "1.0" `
    | Set-AzureRmVmssOsProfile -ComputerNamePrefix "app" -AdminUsername $user -AdminPassword $password
New-AzureRmVmss -ResourceGroupName "rg-app" -VMScaleSetName "app-ss" -VirtualMachineScaleSet $cfg
