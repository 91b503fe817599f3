import os

# App Service and Functions set these for the app; they are not the VM extension.
endpoint = os.environ.get("MSI_ENDPOINT")
secret = os.environ.get("MSI_SECRET")
identity_endpoint = os.getenv("IDENTITY_ENDPOINT")
identity_header = os.getenv("IDENTITY_HEADER")
# Fallback used to be http://localhost:50342
DEV_SERVER = "http://localhost:5000"
