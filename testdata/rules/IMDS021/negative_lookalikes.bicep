param location string = resourceGroup().location

// The user-assigned identity shares the provider namespace: it is the replacement, not the problem.
resource uai 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-app'
  location: location
}

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: 'vm-app'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${uai.id}': {}
    }
  }
}

// Named like the old extension; publisher and type say otherwise.
resource ama 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'ManagedIdentityExtensionForWindows'
  location: location
  properties: {
    publisher: 'Microsoft.Azure.Monitor'
    type: 'AzureMonitorWindowsAgent'
    typeHandlerVersion: '1.0'
  }
}

/*
resource msi 'Microsoft.Compute/virtualMachines/extensions@2017-12-01' = {
  parent: vm
  name: 'ManagedIdentityExtensionForWindows'
  properties: {
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForWindows'
  }
}
*/

// Already removed from deployed machines with `imds-migrate live remove`:
// resource old 'extensions' = { properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForLinux' } }

output principalId string = uai.properties.principalId
output note string = 'Migrated from Microsoft.ManagedIdentity extension to IMDS'

resource federated 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: uai
  name: 'github'
  properties: {
    issuer: 'https://token.actions.githubusercontent.com'
    subject: 'repo:contoso/app:ref:refs/heads/main'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}
