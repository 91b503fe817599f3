package main

import (
	"log"

	"github.com/Azure/go-autorest/autorest/adal"
)

func main() {
	msiEndpoint, err := adal.GetMSIVMEndpoint()
	if err != nil {
		log.Fatal(err)
	}
	spt, err := adal.NewServicePrincipalTokenFromMSI(msiEndpoint, "https://management.azure.com/")
	if err != nil {
		log.Fatal(err)
	}
	_ = spt
}
