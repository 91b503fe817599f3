#!/usr/bin/env bash
set -euo pipefail

RG=payments-rg
VMSS=payments-workers

# Scale set workers get the token service too.
az vmss extension set \
  --resource-group "$RG" \
  --vmss-name "$VMSS" \
  --name ManagedIdentityExtensionForLinux \
  --publisher Microsoft.ManagedIdentity \
  --version 1.0 \
  --settings '{"port": 50342}'

# Sign in as the VM's identity.
az login --msi --msi-port 50342

# Already migrated elsewhere: removal is the desired end state.
az vm extension delete -g "$RG" --vm-name payments-old -n ManagedIdentityExtensionForLinux

curl -s 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/' -H Metadata:true
