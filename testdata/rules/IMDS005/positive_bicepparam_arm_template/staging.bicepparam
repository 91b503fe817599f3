using 'ext.json'

param vmName = 'vm-batch-01'
param extPublisher = 'Microsoft.ManagedIdentity'
param extKind = 'ManagedIdentityExtensionForWindows'
