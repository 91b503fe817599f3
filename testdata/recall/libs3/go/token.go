package tool

import "github.com/Azure/go-autorest/autorest/adal"

func token(endpoint, id string) (*adal.ServicePrincipalToken, error) {
	return adal.NewServicePrincipalTokenFromMSIWithUserAssignedID(endpoint, "https://vault.azure.net", id)
}
