param vmName string

module msiWin 'modules/vm-extension.bicep' = {
  name: 'msi-win'
  params: { vmName: vmName, location: 'westeurope', publisher: 'Microsoft.ManagedIdentity', extensionType: 'ManagedIdentityExtensionForWindows' }
}
