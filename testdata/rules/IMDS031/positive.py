import requests


def token(resource, client_id=None):
    form = {"resource": resource, "authority": "https://login.microsoftonline.com/common"}
    if client_id:
        form["client_id"] = client_id
    resp = requests.post("http://localhost:50342/oauth2/token", data=form)
    return resp.json()["access_token"]
