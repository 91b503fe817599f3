#!/bin/bash
# Deletes every Microsoft.ManagedIdentity extension (ManagedIdentityExtensionForLinux/Windows).
for vm in $(az vm list -g "$RG" --query "[].name" -o tsv); do
  for ext in $(az vm extension list -g "$RG" --vm-name "$vm" --query "[?publisher=='Microsoft.ManagedIdentity'].name" -o tsv); do
    az vm extension delete -g "$RG" --vm-name "$vm" -n "$ext"
  done
done
az rest --method delete --url "https://management.azure.com/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Compute/virtualMachines/vm1/extensions/ManagedIdentityExtensionForLinux?api-version=2023-03-01"
echo "removed ManagedIdentityExtensionForLinux; tokens now come from http://169.254.169.254/metadata/identity/oauth2/token"
