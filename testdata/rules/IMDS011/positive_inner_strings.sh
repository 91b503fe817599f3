#!/bin/bash
# Bootstraps a build host over ssh
HOST=build-01.internal
ssh "$HOST" sudo bash -c "az vm extension set --resource-group ops-rg --vm-name build-01 \
  --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"
docker run --rm mcr.microsoft.com/azure-cli sh -c 'az vmss extension set -g ops-rg --vmss-name agents -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity'
