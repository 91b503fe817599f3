# Identity done right: IMDS needs nothing installed on the VM.
provider "azurerm" {
  features {}
  use_msi = true
}

resource "azurerm_user_assigned_identity" "app" {
  name                = "id-app"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
}

resource "azurerm_linux_virtual_machine" "vm" {
  name = "vm-app"

  identity {
    type         = "SystemAssigned, UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }
}

# Named like the old extension, but a different publisher and type.
resource "azurerm_virtual_machine_extension" "ManagedIdentityExtensionForLinux" {
  name                 = "ManagedIdentityExtensionForLinux"
  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id
  publisher            = "Microsoft.Azure.Monitor"
  type                 = "AzureMonitorLinuxAgent"
  type_handler_version = "1.0"
}

# Removed during the migration:
# resource "azurerm_virtual_machine_extension" "msi" {
#   publisher = "Microsoft.ManagedIdentity"
#   type      = "ManagedIdentityExtensionForLinux"
# }

/*
resource "azurerm_virtual_machine_extension" "msi_windows" {
  publisher = "Microsoft.ManagedIdentity"
  type      = "ManagedIdentityExtensionForWindows"
}
*/

resource "azurerm_role_assignment" "reader" {
  scope                = azurerm_resource_group.rg.id
  role_definition_name = "Reader"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  description          = "Replaces the Microsoft.ManagedIdentity VM extension with IMDS"
}

resource "azurerm_federated_identity_credential" "github" {
  name                = "github"
  resource_group_name = azurerm_resource_group.rg.name
  parent_id           = azurerm_user_assigned_identity.app.id
  issuer              = "https://token.actions.githubusercontent.com"
  subject             = "repo:contoso/app:ref:refs/heads/main"
  audience            = ["api://AzureADTokenExchange"]
}

resource "azurerm_linux_virtual_machine_scale_set" "web" {
  name = "vmss-web"

  identity {
    type = "SystemAssigned"
  }

  extension {
    name                 = "HealthExtension"
    publisher            = "Microsoft.ManagedServices"
    type                 = "ApplicationHealthLinux"
    type_handler_version = "1.0"
  }
}
