#!/usr/bin/env bash
set -euo pipefail

RG="${RESOURCE_GROUP:-rg-demo}"
VM_NAME=vm-demo
PUBLISHER=Microsoft.ManagedIdentity
EXT_TYPE="ManagedIdentityExtensionForLinux"

az vm identity assign -g "$RG" -n "$VM_NAME"

# Install the token service on port 50343 (50342 is taken by the agent).
az vm extension set \
    --resource-group "$RG" \
    --vm-name "$VM_NAME" \
    --name "$EXT_TYPE" \
    --publisher "${PUBLISHER}" \
    --version 1.0 \
    --settings '{"port": 50343}' > /dev/null

for vm in web-01 web-02; do
  az vm extension set -g "$RG" --vm-name "$vm" -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --extension-instance-name msi && echo "done: $vm"
done

ID=$(az vm extension set --resource-group=rg-other --vm-name=db-01 --name=ManagedIdentityExtensionForLinux --publisher=Microsoft.ManagedIdentity --query id -o tsv)
