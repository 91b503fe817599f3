variable "old_extension" {
  type = string
}

resource "azurerm_resource_group" "rg" {
  name     = "rg-tags"
  location = "westeurope"
  tags     = { legacy = var.old_extension }
}
