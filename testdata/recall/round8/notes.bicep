@description('Formerly ManagedIdentityExtensionForLinux from Microsoft.ManagedIdentity')
param note string = 'Microsoft.ManagedIdentity ManagedIdentityExtensionForLinux is retired'
