"""Removes the retired Microsoft.ManagedIdentity extension (ManagedIdentityExtensionForLinux /
ManagedIdentityExtensionForWindows) from every VM of a resource group."""
import logging

from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient

OLD_TYPES = {"ManagedIdentityExtensionForLinux", "ManagedIdentityExtensionForWindows"}
OLD_PUBLISHER = "Microsoft.ManagedIdentity"


def cleanup(subscription_id, group):
    client = ComputeManagementClient(DefaultAzureCredential(), subscription_id)
    for vm in client.virtual_machines.list(group):
        for ext in client.virtual_machine_extensions.list(group, vm.name).value or []:
            if ext.publisher == OLD_PUBLISHER and ext.type_properties_type in OLD_TYPES:
                logging.info("removing %s (Microsoft.ManagedIdentity) from %s", ext.name, vm.name)
                client.virtual_machine_extensions.begin_delete(group, vm.name, ext.name).result()
