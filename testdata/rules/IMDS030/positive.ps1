# Get an access token for Azure Resource Manager from inside the VM.
$response = Invoke-WebRequest -Uri http://localhost:50342/oauth2/token -Method GET -Body @{resource="https://management.azure.com/"} -Headers @{Metadata="true"}
$content = $response.Content | ConvertFrom-Json
$armToken = $content.access_token

$vault = Invoke-RestMethod -Uri 'http://localhost:50342/oauth2/token?resource=https://vault.azure.net' -Headers @{Metadata = 'true'}
