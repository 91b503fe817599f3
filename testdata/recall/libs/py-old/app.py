from msrestazure.azure_active_directory import MSIAuthentication
from azure.mgmt.compute import ComputeManagementClient

credentials = MSIAuthentication()
client = ComputeManagementClient(credentials, "00000000-1111-2222-3333-444444444444")
