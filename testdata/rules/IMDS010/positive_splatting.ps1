$rg = 'rg-prod'
$vmss = Get-AzVmss -ResourceGroupName $rg -VMScaleSetName 'ss-prod'

# Scale set: the extension is added to the model, then the model is pushed.
$vmss = Add-AzVmssExtension -VirtualMachineScaleSet $vmss `
    -Name "ManagedIdentityExtensionForLinux" `
    -Publisher "Microsoft.ManagedIdentity" `
    -Type "ManagedIdentityExtensionForLinux" `
    -TypeHandlerVersion 1.0 `
    -Setting @{ "port" = 50342 }
Update-AzVmss -ResourceGroupName $rg -Name 'ss-prod' -VirtualMachineScaleSet $vmss

$extensionParams = @{
    ResourceGroupName  = $rg
    VMName             = "jump-01"
    Name               = 'msi'
    Publisher          = 'Microsoft.ManagedIdentity'
    ExtensionType      = 'ManagedIdentityExtensionForWindows'
    TypeHandlerVersion = '1.0'
    Settings           = @{ port = 51234 }
}
foreach ($attempt in 1..3) {
    $result = Set-AzVMExtension @extensionParams -ErrorAction Stop
    if ($result.IsSuccessStatusCode) { break }
}

# The VM comes from the pipeline: the removal needs its names written out.
Get-AzVM -ResourceGroupName $rg -Name "jump-02" | Set-AzVMExtension -Name msi -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0
