"""Fetches an access token for Key Vault from the VM's token service."""
import os

import requests

MSI_PORT = int(os.environ.get("MSI_PORT", "50342"))


def vault_token():
    resp = requests.get(
        "http://localhost:50342/oauth2/token",
        params={"resource": "https://vault.azure.net"},
        headers={"Metadata": "true"},
        timeout=5,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def token_for(resource):
    url = f"http://localhost:{MSI_PORT}/oauth2/token"
    return requests.get(url, params={"resource": resource}, headers={"Metadata": "true"}).json()


def imds_token(resource):
    # Already migrated: IMDS.
    url = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
    return requests.get(url, params={"resource": resource}, headers={"Metadata": "true"}).json()


def app_service_token(resource):
    # App Service has its own identity endpoint, read from the environment.
    endpoint = os.environ["IDENTITY_ENDPOINT"]
    return requests.get(endpoint, params={"resource": resource, "api-version": "2019-08-01"},
                        headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]}).json()
