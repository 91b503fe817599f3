module example.com/fleet/agent

go 1.12

require (
	github.com/Azure/azure-sdk-for-go v16.2.1+incompatible
	github.com/Azure/go-autorest v10.5.1+incompatible
	github.com/dgrijalva/jwt-go v3.2.0+incompatible // indirect
)
