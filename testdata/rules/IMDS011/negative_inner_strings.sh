#!/bin/bash
# Strings nobody runs, and removal inside runner strings
MSG="az vm extension set -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity"
echo "Do not run: $MSG"
ssh build-01 bash -c "az vm extension delete --resource-group ops-rg --vm-name build-01 --name ManagedIdentityExtensionForLinux"
# bash -c "az vm extension set -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity"
