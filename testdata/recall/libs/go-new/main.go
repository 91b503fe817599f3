package main

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/go-autorest/autorest/adal"
)

func main() {
	cred, _ := azidentity.NewManagedIdentityCredential(nil)
	_ = cred
	endpoint, _ := adal.GetMSIVMEndpoint()
	spt, _ := adal.NewServicePrincipalTokenFromMSI(endpoint, "https://management.azure.com/")
	_ = spt
}
