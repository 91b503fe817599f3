module example.com/fleet/agent

go 1.16

require (
	github.com/Azure/go-autorest/autorest v0.11.18
	github.com/Azure/go-autorest/autorest/adal v0.9.13
	github.com/Azure/go-autorest v14.2.0+incompatible // indirect
)
