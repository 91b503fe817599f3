# A role assignment and a script that waited for the token agent, which waited for the VM and
# the vault.

resource "azurerm_key_vault" "kv" {
  name = "kv-app"
}

resource "azurerm_linux_virtual_machine" "app" {
  name = "vm-app"

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_virtual_machine_extension" "token_agent" {
  name                 = "ManagedIdentityExtensionForLinux"
  virtual_machine_id   = azurerm_linux_virtual_machine.app.id
  publisher            = "Microsoft.ManagedIdentity"
  type                 = "ManagedIdentityExtensionForLinux"
  type_handler_version = "1.0"
  settings             = jsonencode({ port = 50342 })

  depends_on = [azurerm_key_vault.kv]
}

resource "azurerm_role_assignment" "reader" {
  scope                = azurerm_key_vault.kv.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = var.principal_id

  depends_on = [
    azurerm_virtual_machine_extension.token_agent,
  ]
}

resource "azurerm_virtual_machine_extension" "setup" {
  name                 = "setup"
  virtual_machine_id   = azurerm_linux_virtual_machine.app.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"

  depends_on = [azurerm_virtual_machine_extension.token_agent]
}
