variable "vm_id" {
  type = string
}

variable "identity_extension_type" {
  type    = string
  default = "ManagedIdentityExtensionForWindows"
}

locals {
  identity_publisher = "Microsoft.ManagedIdentity"
}

resource "azurerm_virtual_machine_extension" "identity" {
  name                 = "identity"
  virtual_machine_id   = var.vm_id
  publisher            = local.identity_publisher
  type                 = var.identity_extension_type
  type_handler_version = "1.0"
}
