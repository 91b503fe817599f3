param location string = resourceGroup().location
param vmName string = 'app01'

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: vmName
  location: location
  identity: {
    type: 'SystemAssigned'
  }
}

resource tokenAgent 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'tokenAgent'
  location: location
  properties: {
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForLinux'
    typeHandlerVersion: '1.0'
    settings: {
      port: 50342
    }
  }
}

// Named by string, so only its dependsOn orders it after the VM.
resource setup 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  name: '${vmName}/setup'
  location: location
  dependsOn: [
    tokenAgent
  ]
  properties: {
    publisher: 'Microsoft.Azure.Extensions'
    type: 'CustomScript'
    typeHandlerVersion: '2.1'
  }
}

resource worker 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: 'worker'
  location: location

  resource workerAgent 'extensions' = {
    name: 'identity'
    location: location
    properties: {
      publisher: 'Microsoft.ManagedIdentity'
      type: 'ManagedIdentityExtensionForWindows'
      typeHandlerVersion: '1.0'
    }
  }
}

resource registration 'Microsoft.Resources/deployments@2022-09-01' = {
  name: 'register'
  dependsOn: [ worker::workerAgent ]
  properties: {
    mode: 'Incremental'
  }
}
