module example.com/agent

go 1.13

require github.com/Azure/go-autorest v10.3.0+incompatible // indirect
