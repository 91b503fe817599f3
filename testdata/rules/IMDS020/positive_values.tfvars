location       = "westeurope"
vm_size        = "Standard_B2s"
extension_type = "ManagedIdentityExtensionForLinux"
