resource "azurerm_linux_virtual_machine_scale_set" "web" {
  name = "vmss-web"

  extension {
    name                       = "HealthProbe"
    publisher                  = "Microsoft.ManagedServices"
    type                       = "ApplicationHealthLinux"
    type_handler_version       = "1.0"
  }

  extension {
    name                       = "TokenService"
    publisher                  = "Microsoft.ManagedIdentity"
    type                       = "ManagedIdentityExtensionForLinux"
    type_handler_version       = "1.0"
    provision_after_extensions = ["HealthProbe"]
    settings                   = jsonencode({ port = 50342 })
  }

  extension {
    name                       = "DeployApp"
    publisher                  = "Microsoft.Azure.Extensions"
    type                       = "CustomScript"
    type_handler_version       = "2.1"
    provision_after_extensions = ["TokenService"]
  }
}
