#!/usr/bin/env bash
set -euo pipefail
RG=rg-workers
SS=workers

az vmss create --resource-group "$RG" --name "$SS" --image Ubuntu2204 \
  --instance-count 2 --upgrade-policy-mode Manual --assign-identity
az vmss extension set --resource-group "$RG" --vmss-name "$SS" \
  --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity \
  --version 1.0 --settings '{"port": 50342}'
az vmss extension set --resource-group "$RG" --vmss-name "$SS" \
  --name CustomScript --publisher Microsoft.Azure.Extensions --version 2.1
az vmss update-instances --resource-group "$RG" --name "$SS" --instance-ids '*'
