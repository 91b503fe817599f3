"""Reads the database password from Key Vault with the VM's identity."""
from azure.keyvault import KeyVaultClient
from msrestazure.azure_active_directory import MSIAuthentication


def password(vault_url):
    credentials = MSIAuthentication(resource="https://vault.azure.net")
    client = KeyVaultClient(credentials)
    return client.get_secret(vault_url, "db-password", "").value
