import os

MSI_PORT = int(os.environ.get("MSI_PORT", "50342"))
APP_PORT = int(os.environ.get("APP_PORT", "50342"))
TOKEN_URL = "http://localhost:{}/oauth2/token".format(MSI_PORT)
