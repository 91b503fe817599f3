"""Token helper for the batch workers."""
import requests

# The token service of the VM extension.
TOKEN_URL = "http://localhost:50342/oauth2/token"
LEGACY_TOKEN_URL = "http://127.0.0.1:50342/oauth2/token"
HEADERS = {"Metadata": "true"}


def token_for(resource):
    url = f"{TOKEN_URL}?api-version=2018-02-01&resource={resource}"
    return requests.get(url, headers=HEADERS, timeout=5).json()["access_token"]


def legacy_token_for(resource):
    url = LEGACY_TOKEN_URL + "?resource=" + resource
    return requests.get(url, headers=HEADERS, timeout=5).json()["access_token"]
