<#
.DESCRIPTION
Installs ManagedIdentityExtensionForWindows from Microsoft.ManagedIdentity (retired).
Set-AzVMExtension -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows
#>
param()
Write-Verbose "checking for ManagedIdentityExtensionForWindows from Microsoft.ManagedIdentity"
