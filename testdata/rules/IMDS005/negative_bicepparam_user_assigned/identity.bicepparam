using './identity.bicep'

param identityName = 'id-Microsoft.ManagedIdentity-app'
param identityType = 'Microsoft.ManagedIdentity/userAssignedIdentities'
