"""Tokens for the app: IMDS on VMs, App Service identity elsewhere, AAD for local dev."""
import os

import requests

IMDS = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
AUTHORITY = "https://login.microsoftonline.com/{tenant}/oauth2/token"
ARC = "http://localhost:40342/metadata/identity/oauth2/token?api-version=2020-06-01"


def token(resource):
    if "IDENTITY_ENDPOINT" in os.environ:
        endpoint = os.environ["IDENTITY_ENDPOINT"]
        headers = {"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]}
        return requests.get(endpoint, params={"resource": resource, "api-version": "2019-08-01"}, headers=headers)
    if os.environ.get("MSI_ENDPOINT"):
        return requests.get(os.environ["MSI_ENDPOINT"], headers={"Secret": os.environ["MSI_SECRET"]})
    # Old way, kept for reference:
    # requests.get("http://localhost:50342/oauth2/token", params={"resource": resource})
    return requests.get(IMDS, params={"resource": resource}, headers={"Metadata": "true"})


def aad(tenant, client_id, secret):
    url = "https://login.microsoftonline.com/%s/oauth2/token" % tenant
    return requests.post(url, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
