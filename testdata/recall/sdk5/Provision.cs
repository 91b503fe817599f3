using Azure.ResourceManager.Compute;

var data = new VirtualMachineExtensionData(AzureLocation.WestEurope)
{
    Publisher = "Microsoft.ManagedIdentity",
    ExtensionType = "ManagedIdentityExtensionForWindows",
    TypeHandlerVersion = "1.0",
};
