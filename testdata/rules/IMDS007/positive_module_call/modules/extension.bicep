param vmName string
param publisher string
param type string
param location string = resourceGroup().location

resource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  name: '${vmName}/agent'
  location: location
  properties: {
    publisher: publisher
    type: type
    typeHandlerVersion: '1.0'
    autoUpgradeMinorVersion: true
  }
}
