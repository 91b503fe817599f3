vm_id     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app-01"
publisher = "Microsoft.Azure.Extensions"
type      = "CustomScript"
# the old value was Microsoft.ManagedIdentity / ManagedIdentityExtensionForLinux
