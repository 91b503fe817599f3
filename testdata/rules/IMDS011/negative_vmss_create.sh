#!/bin/bash
# Today's way: the identity comes with the scale set, no extension.
az vmss create -g rg-new -n new-ss --image Ubuntu2204 --assign-identity
az vmss extension set -g rg-new --vmss-name new-ss -n CustomScript --publisher Microsoft.Azure.Extensions --version 2.1
az vmss extension delete -g rg-old --vmss-name old-ss -n ManagedIdentityExtensionForLinux
az vmss update-instances -g rg-old -n old-ss --instance-ids '*'
