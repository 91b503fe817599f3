#!/bin/bash
bash -c "az vm extension set --resource-group rg-app --vm-name vm-app-01 --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"
sh -c 'az vmss extension set -g rg-app --vmss-name ss-web -n ManagedIdentityExtensionForWindows --publisher Microsoft.ManagedIdentity --version 1.0'
sudo -u azureuser bash -lc "az login -u ${SUB}@50342"

# look-alikes
bash -c "az vm extension delete -g rg-app --vm-name vm-app-01 -n ManagedIdentityExtensionForLinux"
sh -c 'az vmss extension delete -g rg-app --vmss-name ss-web -n ManagedIdentityExtensionForWindows && az vmss update-instances -g rg-app -n ss-web --instance-ids "*"'
echo "we used to install ManagedIdentityExtensionForLinux from Microsoft.ManagedIdentity"
