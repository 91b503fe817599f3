// A user-assigned identity: same provider namespace, a legitimate resource.
param name string
param location string = resourceGroup().location

resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
}

module monitor './modules/vm-extension.bicep' = {
  name: 'monitor'
  params: {
    vmName: 'vm-app-01'
    location: location
    publisher: 'Microsoft.Azure.Monitor'
    extensionType: 'AzureMonitorLinuxAgent'
  }
}

output principalId string = id.properties.principalId
