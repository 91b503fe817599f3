# Creates a web scale set from scratch (walkthrough style).
$rg = "rg-web"
$location = "westeurope"
$vmssConfig = New-AzVmssConfig -Location $location -SkuCapacity 2 -SkuName "Standard_B2s" -UpgradePolicyMode "Automatic"
Set-AzVmssStorageProfile $vmssConfig -OsDiskCreateOption "FromImage" -ImageReferencePublisher "Canonical" `
    -ImageReferenceOffer "0001-com-ubuntu-server-jammy" -ImageReferenceSku "22_04-lts" -ImageReferenceVersion "latest"

# Token service for the apps on the instances.
$identitySettings = @{ "port" = 50342 }
Add-AzVmssExtension -VirtualMachineScaleSet $vmssConfig `
    -Name "ManagedIdentityExtensionForLinux" `
    -Publisher "Microsoft.ManagedIdentity" `
    -Type "ManagedIdentityExtensionForLinux" `
    -TypeHandlerVersion 1.0 `
    -Setting $identitySettings

# Monitoring stays.
Add-AzVmssExtension -VirtualMachineScaleSet $vmssConfig -Name "AzureMonitorLinuxAgent" -Publisher "Microsoft.Azure.Monitor" -Type "AzureMonitorLinuxAgent" -TypeHandlerVersion 1.0

New-AzVmss -ResourceGroupName $rg -Name "web-ss" -VirtualMachineScaleSet $vmssConfig
