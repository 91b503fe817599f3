# A Linux VM that still installs the Managed Identity VM extension.

variable "location" {
  type    = string
  default = "westeurope"
}

variable "msi_port" {
  description = "Port of the local token service"
  type        = number
  default     = 50343
}

locals {
  msi_publisher = "Microsoft.ManagedIdentity"
  tags = {
    env = "prod"
  }
}

resource "azurerm_linux_virtual_machine" "vm" {
  name                = "vm-app"
  resource_group_name = azurerm_resource_group.rg.name
  location            = var.location
  size                = "Standard_B2s"

  identity {
    type = "SystemAssigned"
  }

  tags = local.tags
}

resource "azurerm_virtual_machine_extension" "msi" {
  name                       = "ManagedIdentityExtensionForLinux"
  virtual_machine_id         = azurerm_linux_virtual_machine.vm.id
  publisher                  = local.msi_publisher
  type                       = "ManagedIdentityExtensionForLinux"
  type_handler_version       = "1.0"
  auto_upgrade_minor_version = true

  settings = <<SETTINGS
    {
      "port": ${var.msi_port}
    }
SETTINGS
}

resource "azurerm_virtual_machine_extension" "bootstrap" {
  name                 = "bootstrap"
  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.1"

  settings = jsonencode({
    commandToExecute = "sh bootstrap.sh"
  })

  depends_on = [
    azurerm_virtual_machine_extension.msi,
  ]
}

resource "azurerm_virtual_machine_extension" "msi_windows" {
  count                = var.windows ? 1 : 0
  name                 = "ManagedIdentityWindowsExtension"
  virtual_machine_id   = azurerm_windows_virtual_machine.win[0].id
  publisher            = "microsoft.managedidentity"
  type                 = "ManagedIdentityExtensionForWindows"
  type_handler_version = "1.0"
  settings             = "{\"port\": 50342}"
}

resource "azurerm_virtual_machine_extension" "monitor" {
  name                 = "AzureMonitorWindowsAgent"
  virtual_machine_id   = azurerm_windows_virtual_machine.win[0].id
  publisher            = "Microsoft.Azure.Monitor"
  type                 = "AzureMonitorWindowsAgent"
  type_handler_version = "1.0"
  depends_on           = [azurerm_virtual_machine_extension.msi_windows, azurerm_virtual_machine_extension.bootstrap]
}
