import urllib.parse
import requests

PROXY_TARGET = "http%3A%2F%2Flocalhost%3A50342%2Foauth2%2Ftoken%3Fresource%3Dhttps%3A%2F%2Fvault.azure.net"
IMDS_TARGET = "http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken%3Fapi-version%3D2018-02-01"

def fetch():
    return requests.get(urllib.parse.unquote(PROXY_TARGET), headers={"Metadata": "true"})
