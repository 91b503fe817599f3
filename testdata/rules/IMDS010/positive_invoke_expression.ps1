# Runs the install line kept in the runbook's settings
$rg = "ops-rg"
Invoke-Expression "Set-AzVMExtension -ResourceGroupName $rg -VMName win-07 -Location westeurope -Name TokenAgent -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0"
