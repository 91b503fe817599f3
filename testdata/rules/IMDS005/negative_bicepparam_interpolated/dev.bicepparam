using './vm-agent.bicep'

var ns = 'Microsoft.ManagedIdentity'
param vmName = 'vm-dev'
// Built at deployment time: not a value this file certainly gives.
param publisher = '${ns}'
param extType = readEnvironmentVariable('EXT_TYPE', 'CustomScript')
