vm_id               = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app-01"
extension_publisher = "Microsoft.ManagedIdentity"
extension_type      = "ManagedIdentityExtensionForLinux"
extension_settings  = "{\"port\": 50342}"
