import requests

# The old endpoint is kept on purpose for a legacy test VM.
# imds-migrate: ignore[IMDS030]
LEGACY = requests.get("http://localhost:50342/oauth2/token?resource=https://vault.azure.net", headers={"Metadata": "true"})
