# Scheduled task body, written to disk and registered below.
$taskBody = @"
`$form = @{ resource = 'https://vault.azure.net' }
`$token = Invoke-RestMethod -Uri 'http://localhost:50342/oauth2/token' -Method Post -Body `$form
Set-Content -Path C:\ProgramData\app\token.txt -Value `$token.access_token
"@
Set-Content -Path C:\ProgramData\app\refresh.ps1 -Value $taskBody
