vm_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
extensions = {
  msi = {
    publisher = "Microsoft.ManagedIdentity"
    type      = "ManagedIdentityExtensionForLinux"
    version   = "1.0"
  }
  monitor = {
    publisher = "Microsoft.Azure.Monitor"
    type      = "AzureMonitorLinuxAgent"
    version   = "1.0"
  }
}
