param location string = resourceGroup().location
param vmName string

module identityExt './modules/vm-extension.bicep' = {
  name: 'identity-ext'
  params: {
    vmName: vmName
    location: location
    publisher: 'Microsoft.ManagedIdentity'
    extensionType: 'ManagedIdentityExtensionForLinux'
    settings: {
      port: 50342
    }
  }
}

module scriptExt './modules/vm-extension.bicep' = {
  name: 'script-ext'
  params: {
    vmName: vmName
    location: location
    publisher: 'Microsoft.Azure.Extensions'
    extensionType: 'CustomScript'
    settings: {
      commandToExecute: 'az vm extension delete -g rg-app --vm-name ${vmName} -n ManagedIdentityExtensionForLinux'
    }
  }
}

resource uai 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${vmName}'
  location: location
}
