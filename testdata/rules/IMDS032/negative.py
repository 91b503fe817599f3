"""A fake OAuth server for the integration tests of the login flow."""
import threading

TENANT = "contoso"


def authority_url(tenant=TENANT):
    return f"https://login.microsoftonline.com/{tenant}/oauth2/token"


def start_fake_server(port):
    server = FakeOAuthServer(("127.0.0.1", port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{port}/oauth2/token"
