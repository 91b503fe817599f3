resource "azurerm_linux_virtual_machine" "vm" {
  name                = "vm-app-07"
  resource_group_name = "rg-app"
  location            = "westeurope"
  size                = "Standard_B2s"
  custom_data = base64encode(<<-EOT
    #!/bin/bash
    az login -u ${var.subscription_id}@50342
    az vm extension delete -g rg-app --vm-name vm-app-06 -n ManagedIdentityExtensionForLinux
  EOT
  )
}
