from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachineExtension


def add_msi_extension(client: ComputeManagementClient, rg, vm_name, location, linux=True):
    ext_type = "ManagedIdentityExtensionForLinux" if linux else "ManagedIdentityExtensionForWindows"
    params = VirtualMachineExtension(
        location=location,
        publisher="Microsoft.ManagedIdentity",
        type_properties_type=ext_type,
        type_handler_version="1.0",
        settings={"port": 50342},
    )
    return client.virtual_machine_extensions.begin_create_or_update(rg, vm_name, ext_type, params)
