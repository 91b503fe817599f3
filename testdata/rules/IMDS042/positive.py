from msrestazure.azure_active_directory import MSIAuthentication
from azure.mgmt.resource import ResourceManagementClient


def client(subscription_id):
    credentials = MSIAuthentication()
    return ResourceManagementClient(credentials, subscription_id)
