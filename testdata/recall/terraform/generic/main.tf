variable "vm_id" {
  type = string
}

variable "extension_publisher" {
  type = string
}

variable "extension_type" {
  type = string
}

variable "extension_settings" {
  type    = string
  default = "{}"
}

resource "azurerm_virtual_machine_extension" "this" {
  name                 = var.extension_type
  virtual_machine_id   = var.vm_id
  publisher            = var.extension_publisher
  type                 = var.extension_type
  type_handler_version = "1.0"
  settings             = var.extension_settings
}
