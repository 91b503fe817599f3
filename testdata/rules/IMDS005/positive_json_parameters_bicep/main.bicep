@description('Scale set that gets the extension')
param vmssName string
param extensionPublisher string
param extensionType string

resource ss 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' existing = {
  name: vmssName
}

resource ext 'Microsoft.Compute/virtualMachineScaleSets/extensions@2023-03-01' = {
  parent: ss
  name: 'identity'
  properties: {
    publisher: extensionPublisher
    type: extensionType
    typeHandlerVersion: '1.0'
  }
}
