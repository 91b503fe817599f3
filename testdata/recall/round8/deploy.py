import subprocess

INSTALL = "az vm extension set -g rg8 --vm-name vm8 -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"
subprocess.check_call(INSTALL, shell=True)
