param location string = resourceGroup().location

resource vmss 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' = {
  name: 'ss-bicep'
  location: location
  properties: {
    virtualMachineProfile: {
      extensionProfile: {
        extensions: [
          {
            name: 'ManagedIdentityExtensionForLinux'
            properties: {
              publisher: 'Microsoft.ManagedIdentity'
              type: 'ManagedIdentityExtensionForLinux'
              typeHandlerVersion: '1.0'
              settings: {
                port: 50342
              }
            }
          }
          {
            name: 'ManagedIdentityExtensionForWindows'
            properties: {
              publisher: 'Microsoft.Compute'
              type: 'CustomScriptExtension'
              typeHandlerVersion: '1.10'
            }
          }
        ]
      }
    }
  }
}
