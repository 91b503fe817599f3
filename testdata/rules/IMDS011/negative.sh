#!/bin/bash
# Removal is the goal, not a problem:
az vm extension delete -g "$RG" --vm-name "$VM" -n ManagedIdentityExtensionForLinux
az vmss extension delete -g "$RG" --vmss-name "$VMSS" -n ManagedIdentityExtensionForLinux
az vm extension show -g "$RG" --vm-name "$VM" -n ManagedIdentityExtensionForLinux
az vm extension list -g "$RG" --vm-name "$VM" --query "[?publisher=='Microsoft.ManagedIdentity'].name" -o tsv

# az vm extension set -g "$RG" --vm-name "$VM" -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity
echo "Never run: az vm extension set -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity"
cat <<EOF > MIGRATION.txt
az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity
EOF

# Other extensions stay.
az vm extension set -g "$RG" --vm-name "$VM" --name customScript --publisher Microsoft.Azure.Extensions --settings '{"commandToExecute": "./setup.sh"}'
az vm extension set -g "$RG" --vm-name "$VM" --name AzureMonitorLinuxAgent --publisher Microsoft.Azure.Monitor --enable-auto-upgrade true
az identity create -g "$RG" -n id-app   # Microsoft.ManagedIdentity/userAssignedIdentities
