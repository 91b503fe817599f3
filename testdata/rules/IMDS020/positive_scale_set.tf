resource "azurerm_linux_virtual_machine_scale_set" "web" {
  name                = "vmss-web"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
  sku                 = "Standard_F2"
  instances           = 2
  admin_username      = "adminuser"

  identity {
    type = "SystemAssigned"
  }

  extension {
    name                 = "MSILinuxExtension"
    publisher            = "Microsoft.ManagedIdentity"
    type                 = "ManagedIdentityExtensionForLinux"
    type_handler_version = "1.0"
    settings             = jsonencode({ port = 50343 })
  }

  extension {
    name                       = "HealthExtension"
    publisher                  = "Microsoft.ManagedServices"
    type                       = "ApplicationHealthLinux"
    type_handler_version       = "1.0"
    provision_after_extensions = ["MSILinuxExtension"]
  }
}

resource "azurerm_windows_virtual_machine_scale_set" "api" {
  name = "vmss-api"

  dynamic "extension" {
    for_each = var.enable_msi ? [1] : []
    content {
      name                 = "ManagedIdentityExtensionForWindows"
      publisher            = "Microsoft.ManagedIdentity"
      type                 = "ManagedIdentityExtensionForWindows"
      type_handler_version = "1.0"
      settings             = "{\"port\": 51234}"
    }
  }
}

resource "azurerm_virtual_machine_scale_set_extension" "msi" {
  name                         = "msi"
  virtual_machine_scale_set_id = azurerm_linux_virtual_machine_scale_set.web.id
  publisher                    = "Microsoft.ManagedIdentity"
  type                         = var.msi_type
  type_handler_version         = "1.0"
}
