module example.com/vmworker

go 1.12

require (
	github.com/Azure/go-autorest v9.10.0+incompatible
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
)
