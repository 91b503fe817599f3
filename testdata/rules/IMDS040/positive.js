const { ComputeManagementClient } = require("@azure/arm-compute");

async function addExtension(client, rg, vm) {
  const extension = {
    location: "westeurope",
    publisher: "Microsoft.ManagedIdentity",
    typePropertiesType: "ManagedIdentityExtensionForLinux",
    typeHandlerVersion: "1.0",
    settings: { port: 50342 },
  };
  return client.virtualMachineExtensions.beginCreateOrUpdateAndWait(rg, vm, "msi", extension);
}

module.exports = { addExtension, ComputeManagementClient };
