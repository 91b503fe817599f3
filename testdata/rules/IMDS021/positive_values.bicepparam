using 'main.bicep'

param location = 'westeurope'
param vmName = 'vm-app'
param extensionType = 'ManagedIdentityExtensionForWindows'
