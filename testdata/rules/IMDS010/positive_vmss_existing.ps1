param([string] $ResourceGroup = "rg-batch", [string] $ScaleSet = "batch-ss")

# Existing scale set, model pushed afterwards: the removal replaces the step.
$vmss = Get-AzVmss -ResourceGroupName $ResourceGroup -VMScaleSetName $ScaleSet
$vmss = Add-AzVmssExtension -VirtualMachineScaleSet $vmss -Name "msi-ext" -Publisher Microsoft.ManagedIdentity `
    -Type ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0
Update-AzVmss -ResourceGroupName $ResourceGroup -Name $ScaleSet -VirtualMachineScaleSet $vmss

# Fetched but never pushed in this file: the fix has to push it (unsafe).
$other = Get-AzVmss -ResourceGroupName $ResourceGroup -VMScaleSetName "batch-ss-2"
Add-AzVmssExtension -VirtualMachineScaleSet $other -Name "msi-ext" -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0

# A helper whose caller decides: left to a person.
function Enable-Msi($ScaleSetObject) {
    Add-AzVmssExtension -VirtualMachineScaleSet $ScaleSetObject -Name "msi-ext" -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForLinux
    return $ScaleSetObject
}
