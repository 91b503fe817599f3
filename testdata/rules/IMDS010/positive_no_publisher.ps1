# Token agent, as the 2017 runbook installed it (no -Publisher)
$rg = "ops-rg"
Set-AzureRmVMExtension -ResourceGroupName $rg -VMName "win-07" -Location "westeurope" `
    -Name "TokenAgent" -ExtensionType "ManagedIdentityExtensionForWindows" `
    -TypeHandlerVersion "1.0" -Settings @{ port = 50342 }
