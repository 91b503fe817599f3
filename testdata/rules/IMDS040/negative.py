from azure.mgmt.msi import ManagedServiceIdentityClient

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def create_identity(client: ManagedServiceIdentityClient, rg, name, location):
    return client.user_assigned_identities.create_or_update(rg, name, {"location": location})


def remove_old_extension(compute, rg, vm):
    # publisher="Microsoft.ManagedIdentity", type="ManagedIdentityExtensionForLinux"
    return compute.virtual_machine_extensions.begin_delete(rg, vm, "ManagedIdentityExtensionForLinux")
