old_extension = "ManagedIdentityExtensionForLinux"
