from azure.mgmt.compute.models import VirtualMachineExtension

ext = VirtualMachineExtension(
    location="westeurope",
    publisher="Microsoft.ManagedIdentity",
    type_properties_type="ManagedIdentityExtensionForLinux",
    type_handler_version="1.0",
    settings={"port": 50342},
)
