using './app.bicep'

param publisher = 'Microsoft.ManagedIdentity'
