import requests

TENANT = "contoso.onmicrosoft.com"


def client_credentials(client_id, secret):
    """AAD v1 client-credentials flow: a POST to a different service."""
    return requests.post(
        f"https://login.microsoftonline.com/{TENANT}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "resource": "https://management.azure.com/"},
    )


def imds(resource):
    return requests.get(
        "http://169.254.169.254/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": resource},
        headers={"Metadata": "true"},
    )
