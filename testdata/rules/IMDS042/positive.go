package main

import (
	"fmt"

	"github.com/Azure/go-autorest/autorest/adal"
)

func armToken() (*adal.ServicePrincipalToken, error) {
	endpoint, err := adal.GetMSIVMEndpoint()
	if err != nil {
		return nil, fmt.Errorf("msi endpoint: %v", err)
	}
	return adal.NewServicePrincipalTokenFromMSI(endpoint, "https://management.azure.com/")
}
