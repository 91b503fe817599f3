from msrestazure.azure_active_directory import MSIAuthentication

def credentials():
    return MSIAuthentication(port=50342, resource="https://management.azure.com/")
