// `publisher` here is an image publisher, not an extension's.
param publisher string
param offer string = 'ubuntu-24_04-lts'

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: 'vm-app'
  location: resourceGroup().location
  properties: {
    storageProfile: {
      imageReference: {
        publisher: publisher
        offer: offer
        sku: 'server'
        version: 'latest'
      }
    }
  }
}
