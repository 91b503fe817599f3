param([int]$MsiPort = 50342)
# Managed identity token from the VM extension.
$uri = "http://localhost:$MsiPort/oauth2/token?resource=https://management.azure.com/"
Invoke-RestMethod -Uri $uri -Headers @{Metadata = 'true'}
