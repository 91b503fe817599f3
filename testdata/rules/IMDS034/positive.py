import json


def msi_url():
    with open("/var/lib/waagent/ManagedIdentity-Settings") as f:
        return json.load(f)["url"]
