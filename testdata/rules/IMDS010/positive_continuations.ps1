<#
.SYNOPSIS
    Enables the managed identity on a VM (2017 runbook).
#>
param(
    [Parameter(Mandatory = $true)]
    [string] $ResourceGroupName,
    [string] $VMName = "web-01",
    [int] $Port = 50342
)

$publisher = "Microsoft.ManagedIdentity"
$extensionName = 'ManagedIdentityExtensionForWindows'

Write-Host "Installing the MSI extension on $VMName"
Set-AzVMExtension -ResourceGroupName $ResourceGroupName `
    -VMName $VMName `
    -Name $extensionName `
    -Publisher $publisher `
    -ExtensionType $extensionName `
    -TypeHandlerVersion "1.0" `
    -Settings @{ "port" = 50343 } `
    -Location (Get-AzResourceGroup -Name $ResourceGroupName).Location

# AzureRM era, one line, parameters with colons
Set-AzureRmVMExtension -ResourceGroupName:"legacy-rg" -VMName:$legacy.Name -Name:"msi" -Publisher:Microsoft.ManagedIdentity -Type:ManagedIdentityExtensionForLinux -TypeHandlerVersion:1.0 -SettingString '{"port": 50342}'
