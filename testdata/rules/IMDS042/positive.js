const msRestAzure = require('ms-rest-azure');

async function credentials() {
  // Runs on the VM with a system-assigned identity.
  return msRestAzure.loginWithVmMSI({ resource: 'https://vault.azure.net' });
}

module.exports = { credentials };
