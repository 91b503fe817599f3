# Enables the token service on the Windows jump host.
param(
    [string]$ResourceGroup = "payments-rg",
    [string]$VmName = "payments-jump-01"
)

Set-AzVMExtension -ResourceGroupName $ResourceGroup `
    -VMName $VmName `
    -Location "westeurope" `
    -Name "ManagedIdentityExtensionForWindows" `
    -Publisher "Microsoft.ManagedIdentity" `
    -ExtensionType "ManagedIdentityExtensionForWindows" `
    -TypeHandlerVersion "1.0" `
    -Settings @{ "port" = 50342 }

# The monitoring agent stays.
Set-AzVMExtension -ResourceGroupName $ResourceGroup -VMName $VmName -Location "westeurope" `
    -Name "AzureMonitorWindowsAgent" -Publisher "Microsoft.Azure.Monitor" `
    -ExtensionType "AzureMonitorWindowsAgent" -TypeHandlerVersion "1.0"

$response = Invoke-RestMethod -Uri "http://localhost:50342/oauth2/token?resource=https://vault.azure.net" `
    -Headers @{ Metadata = "true" } -Method Get
