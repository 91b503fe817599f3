resource "azurerm_virtual_machine_scale_set_extension" "msi" {
  name                         = "msi"
  virtual_machine_scale_set_id = azurerm_linux_virtual_machine_scale_set.web.id
  publisher                    = "Microsoft.ManagedIdentity"
  type                         = "ManagedIdentityExtensionForLinux"
  type_handler_version         = "1.0"
}

resource "azurerm_windows_virtual_machine_scale_set" "win" {
  name                = "ss-win"
  resource_group_name = "rg"
  location            = "westeurope"

  extension {
    name                 = "identity"
    publisher            = "Microsoft.ManagedIdentity"
    type                 = "ManagedIdentityExtensionForWindows"
    type_handler_version = "1.0"
  }
}

resource "azurerm_virtual_machine_extension" "named_like_it" {
  name                 = "ManagedIdentityExtensionForLinux"
  virtual_machine_id   = azurerm_linux_virtual_machine.app.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"
}
