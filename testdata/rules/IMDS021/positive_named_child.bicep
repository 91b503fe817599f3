// Children tied to their VM by name only: Bicep schedules them by dependsOn alone.
param hostName string = 'ci-runner'

resource host 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: hostName
  location: resourceGroup().location
}

resource identityAgent 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  name: '${hostName}/identityAgent'
  location: resourceGroup().location
  properties: {
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForLinux'
    typeHandlerVersion: '1.0'
  }
}

resource runnerSetup 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  name: '${hostName}/runnerSetup'
  location: resourceGroup().location
  dependsOn: [
    identityAgent
  ]
  properties: {
    publisher: 'Microsoft.Azure.Extensions'
    type: 'CustomScript'
    typeHandlerVersion: '2.1'
  }
}
