using './vm-agent.bicep'

// Production web tier
param vmName = 'vm-web-prod'
param publisher = 'Microsoft.ManagedIdentity'
param extType = 'ManagedIdentityExtensionForLinux' /* token service */
param handlerVersion = '1.0'
