import json

# Used to read /var/lib/waagent/ManagedIdentity-Settings; IMDS needs no file.
OVF = "/var/lib/waagent/ovf-env.xml"


def provisioned():
    with open(OVF) as f:
        return f.read()
