param vmName string
param location string
param publisher string
param extensionType string
param settings object = {}

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' existing = {
  name: vmName
}

resource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: extensionType
  location: location
  properties: {
    publisher: publisher
    type: extensionType
    typeHandlerVersion: '1.0'
    settings: settings
  }
}
