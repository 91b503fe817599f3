variable "vm_id" {
  type = string
}

variable "publisher" {
  type = string
}

variable "type" {
  type = string
}

resource "azurerm_virtual_machine_extension" "this" {
  name                 = "setup"
  virtual_machine_id   = var.vm_id
  publisher            = var.publisher
  type                 = var.type
  type_handler_version = "2.1"
}
