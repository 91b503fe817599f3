module example.com/inventory-agent

go 1.12

require (
	github.com/Azure/azure-sdk-for-go v14.6.0+incompatible
	github.com/Azure/go-autorest v10.3.0+incompatible
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
)
