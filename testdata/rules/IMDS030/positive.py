"""Gets a management token from the VM's managed identity."""
import requests

MSI_URL = "http://localhost:50342/oauth2/token"


def get_token(resource="https://management.azure.com/"):
    # Ask the local token service of the VM extension.
    resp = requests.get(
        MSI_URL,
        params={"resource": resource},
        headers={"Metadata": "true"},
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def vault_token():
    url = 'http://127.0.0.1:50342/oauth2/token?resource=https://vault.azure.net'
    return requests.get(url, headers={'Metadata': 'true'}).json()
