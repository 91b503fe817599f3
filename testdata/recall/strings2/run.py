import subprocess

subprocess.check_call("az vm extension set -g rg-py --vm-name vm-py -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0", shell=True)
subprocess.check_call("az vm extension delete -g rg-py --vm-name vm-py -n ManagedIdentityExtensionForLinux", shell=True)
subprocess.run(["az", "login", "--identity"], check=True)
