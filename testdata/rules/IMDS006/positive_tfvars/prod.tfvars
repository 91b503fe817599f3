vm_id               = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
extension_publisher = "Microsoft.ManagedIdentity"
extension_type      = "ManagedIdentityExtensionForLinux"
