#!/bin/sh
# Existing scale sets, upgrade policy unknown here.
az vmss extension set -g rg-legacy --vmss-name legacy-ss -n ManagedIdentityExtensionForLinux \
  --publisher Microsoft.ManagedIdentity --version 1.0 --no-wait
az vmss extension set -g rg-legacy --vmss-name api-ss -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity && echo "api done"
