param vmName string

module scriptExtension './modules/extension.bicep' = {
  name: 'script-extension'
  params: {
    vmName: vmName
    publisher: 'Microsoft.Azure.Extensions'
    type: 'CustomScript'
  }
}
