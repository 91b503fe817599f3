module example.com/tool

go 1.11

require github.com/Azure/go-autorest v8.4.0+incompatible
