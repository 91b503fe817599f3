$msiPort = if ($env:MSI_PORT) { $env:MSI_PORT } else { 50342 }
$env:MSI_PORT = 50342
$env:WEB_PORT = 50342
