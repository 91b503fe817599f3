package deploy

import (
	"github.com/Azure/azure-sdk-for-go/services/compute/mgmt/2019-07-01/compute"
	"github.com/Azure/go-autorest/autorest/to"
)

func msiExtension(location string) compute.VirtualMachineExtension {
	return compute.VirtualMachineExtension{
		Location: to.StringPtr(location),
		VirtualMachineExtensionProperties: &compute.VirtualMachineExtensionProperties{
			Publisher:          to.StringPtr("Microsoft.ManagedIdentity"),
			Type:               to.StringPtr("ManagedIdentityExtensionForLinux"),
			TypeHandlerVersion: to.StringPtr("1.0"),
			Settings:           map[string]interface{}{"port": 50342},
		},
	}
}
