module example.com/fleet/agent

go 1.16

require (
	github.com/Azure/go-autorest v10.5.1+incompatible
	github.com/Azure/go-autorest/autorest v0.11.18 // indirect
)

// The build uses a fixed release, then a patched fork.
replace github.com/Azure/go-autorest v10.5.1+incompatible => github.com/Azure/go-autorest v10.15.5+incompatible

exclude github.com/Azure/go-autorest v10.1.0+incompatible
