@description('Name of the existing virtual machine')
param vmName string

@description('Port of the local token service')
param msiPort int = 50343

var extensionPublisher = 'Microsoft.ManagedIdentity'
var extensionType = 'ManagedIdentityExtensionForWindows'

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' existing = {
  name: vmName
}

@description('Token service used by the app before IMDS')
resource msiExtension 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'ManagedIdentityExtensionForWindows'
  location: resourceGroup().location
  properties: {
    publisher: extensionPublisher
    type: extensionType
    typeHandlerVersion: '1.0'
    autoUpgradeMinorVersion: true
    settings: {
      port: msiPort
    }
  }
}

resource bootstrap 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'bootstrap'
  location: resourceGroup().location
  properties: {
    publisher: 'Microsoft.Compute'
    type: 'CustomScriptExtension'
    typeHandlerVersion: '1.10'
  }
  dependsOn: [
    msiExtension
  ]
}

resource linuxVm 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: '${vmName}-linux'
  location: resourceGroup().location
  identity: {
    type: 'SystemAssigned'
  }

  resource msi 'extensions' = if (enableMsi) {
    name: 'MSI-Linux'
    location: resourceGroup().location
    properties: {
      publisher: 'Microsoft.ManagedIdentity'
      type: 'ManagedIdentityExtensionForLinux'
      typeHandlerVersion: '1.0'
      settings: {
        port: 50342
      }
    }
  }
}

param enableMsi bool = true
param count int = 2

resource fleetMsi 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = [for i in range(0, count): {
  name: 'fleet-${i}/ManagedIdentityExtension'
  location: resourceGroup().location
  properties: {
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForLinux'
    typeHandlerVersion: '1.0'
  }
}]

resource monitor 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'AzureMonitorWindowsAgent'
  location: resourceGroup().location
  properties: {
    publisher: 'Microsoft.Azure.Monitor'
    type: 'AzureMonitorWindowsAgent'
    typeHandlerVersion: '1.0'
  }
  dependsOn: [bootstrap, msiExtension]
}
