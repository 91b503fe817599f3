identity_type      = "UserAssigned"
identity_namespace = "Microsoft.ManagedIdentity"
listener_port      = 50342
extension_names    = ["AzureMonitorLinuxAgent", "DependencyAgentLinux"]
