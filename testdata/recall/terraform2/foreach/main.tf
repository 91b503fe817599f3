variable "vm_id" {
  type = string
}

variable "extensions" {
  type = map(object({
    publisher = string
    type      = string
    version   = string
  }))
}

resource "azurerm_virtual_machine_extension" "ext" {
  for_each             = var.extensions
  name                 = each.key
  virtual_machine_id   = var.vm_id
  publisher            = each.value.publisher
  type                 = each.value.type
  type_handler_version = each.value.version
}
