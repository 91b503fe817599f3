param vmssName string
param extensionPublisher string = 'Microsoft.ManagedIdentity'
param extensionType string = 'ManagedIdentityExtensionForLinux'

resource vmss 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' existing = {
  name: vmssName
}

resource msi 'Microsoft.Compute/virtualMachineScaleSets/extensions@2023-03-01' = {
  parent: vmss
  name: 'identity'
  properties: {
    publisher: extensionPublisher
    type: extensionType
    typeHandlerVersion: '1.0'
  }
}

var profile = {
  extensions: [
    {
      name: 'msi'
      properties: {
        publisher: 'Microsoft.ManagedIdentity'
        type: 'ManagedIdentityExtensionForWindows'
        typeHandlerVersion: '1.0'
      }
    }
  ]
}
