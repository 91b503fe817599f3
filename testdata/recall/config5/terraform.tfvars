msi_port      = 50342
listener_port = 50342
