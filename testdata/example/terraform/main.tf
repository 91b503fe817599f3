resource "azurerm_linux_virtual_machine" "api" {
  name                = "payments-api"
  resource_group_name = var.resource_group
  location            = var.location
  size                = "Standard_B2s"

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_virtual_machine_extension" "msi" {
  name                 = "msi"
  virtual_machine_id   = azurerm_linux_virtual_machine.api.id
  publisher            = "Microsoft.ManagedIdentity"
  type                 = "ManagedIdentityExtensionForLinux"
  type_handler_version = "1.0"

  settings = jsonencode({
    port = 50342
  })
}

resource "azurerm_virtual_machine_extension" "bootstrap" {
  name                 = "bootstrap"
  virtual_machine_id   = azurerm_linux_virtual_machine.api.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"

  depends_on = [azurerm_virtual_machine_extension.msi]
}
