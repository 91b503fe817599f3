param vmName string

module identityExtension './modules/extension.bicep' = {
  name: 'identity-extension'
  params: {
    vmName: vmName
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForLinux'
  }
}
