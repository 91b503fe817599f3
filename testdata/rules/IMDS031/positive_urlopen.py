import json
import urllib.parse
import urllib.request

MSI_TOKEN_ENDPOINT = "http://localhost:50342/oauth2/token"


def get_token(resource):
    form = urllib.parse.urlencode({"resource": resource}).encode()
    with urllib.request.urlopen(MSI_TOKEN_ENDPOINT, form) as resp:
        return json.load(resp)["access_token"]
