using 'main.bicep'

param identityName = 'id-app-ManagedIdentity'
param extensionType = 'CustomScriptExtension'
