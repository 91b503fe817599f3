"""Managed identity helper (VM extension)."""
import requests

MSI_PORT = 50342


def token(resource, port=MSI_PORT):
    url = f"http://localhost:{port}/oauth2/token"
    return requests.get(url, params={"resource": resource}, headers={"Metadata": "true"})


def token_legacy(resource, port=MSI_PORT):
    url = 'http://localhost:{}/oauth2/token?resource={}'.format(port, resource)
    alt = "http://127.0.0.1:%d/oauth2/token" % port
    return url, alt
