resource pool 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' = {
  name: 'pool'
  properties: {
    virtualMachineProfile: {
      extensionProfile: {
        extensions: [
          {
            name: 'probe'
            properties: {
              publisher: 'Microsoft.ManagedServices'
              type: 'ApplicationHealthWindows'
              typeHandlerVersion: '1.0'
            }
          }
          {
            name: 'tokens'
            properties: {
              publisher: 'Microsoft.ManagedIdentity'
              type: 'ManagedIdentityExtensionForWindows'
              typeHandlerVersion: '1.0'
              provisionAfterExtensions: [
                'probe'
              ]
            }
          }
          {
            name: 'app'
            properties: {
              publisher: 'Microsoft.Compute'
              type: 'CustomScriptExtension'
              typeHandlerVersion: '1.10'
              provisionAfterExtensions: [
                'tokens'
              ]
            }
          }
        ]
      }
    }
  }
}
