from azure.identity import ManagedIdentityCredential, DefaultAzureCredential
from msrestazure.azure_active_directory import MSIAuthentication

credential = ManagedIdentityCredential()
fallback = DefaultAzureCredential()
legacy = MSIAuthentication(resource="https://management.azure.com/")
