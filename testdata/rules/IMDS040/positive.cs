using Microsoft.Azure.Management.Compute.Models;

static class MsiExtension
{
    public static VirtualMachineExtension Build(string location) => new VirtualMachineExtension
    {
        Location = location,
        Publisher = "Microsoft.ManagedIdentity",
        VirtualMachineExtensionType = "ManagedIdentityExtensionForWindows",
        TypeHandlerVersion = "1.0",
        Settings = new { port = 50342 },
    };
}
