// One extension per VM, chosen by the deployment's parameter file.
param vmName string
param location string = resourceGroup().location
param publisher string
param extType string
param handlerVersion string = '1.0'

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' existing = {
  name: vmName
}

resource agent 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'agent'
  location: location
  properties: {
    publisher: publisher
    type: extType
    typeHandlerVersion: handlerVersion
    autoUpgradeMinorVersion: true
  }
}
