variable "vm_id" {}
variable "extension_publisher" {}
variable "extension_type" {}

resource "azurerm_virtual_machine_extension" "agent" {
  name                 = "agent"
  virtual_machine_id   = var.vm_id
  publisher            = var.extension_publisher
  type                 = var.extension_type
  type_handler_version = "1.0"
}
