module example.com/fleet/agent

go 1.16

require github.com/Azure/go-autorest v10.15.5+incompatible

replace (
	github.com/Azure/go-autorest => github.com/Azure/go-autorest v9.10.0+incompatible
)
