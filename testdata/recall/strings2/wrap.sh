#!/usr/bin/env bash
pwsh -NoProfile -Command "Set-AzVMExtension -ResourceGroupName rg-sh -VMName vm-sh -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForLinux -TypeHandlerVersion 1.0 -Location westus"
ssh ops@jump "az vm extension set -g rg-sh --vm-name vm-sh2 -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"
# bash -c "az vm extension set -g rg-sh --vm-name vm-sh3 -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity"
pwsh -c "Remove-AzVMExtension -ResourceGroupName rg-sh -VMName vm-sh -Name msi -Force"
bash -c 'az vm extension delete -g rg-sh --vm-name vm-sh2 -n ManagedIdentityExtensionForLinux'
