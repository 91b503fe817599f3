$endpoint = "http://localhost:50342/oauth2/token"
$headers = @{ Metadata = "true" }

# Built on with its own query here...
$uri = "$($endpoint)?resource=https://vault.azure.net"
$vaultToken = (Invoke-RestMethod -Uri $uri -Headers $headers).access_token

# ...and sent as written there: no single IMDS URL fits both.
$armToken = (Invoke-RestMethod -Uri $endpoint -Body @{ resource = "https://management.azure.com/" } -Headers $headers).access_token
