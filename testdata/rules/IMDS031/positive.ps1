$body = "resource=https://management.azure.com/&authority=https://login.microsoftonline.com/common"
$resp = Invoke-RestMethod -Uri "http://localhost:50342/oauth2/token" `
    -Method Post `
    -Body $body
$resp.access_token
