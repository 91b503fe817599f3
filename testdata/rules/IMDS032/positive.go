package msi

import "fmt"

// msiPort is where the Managed Identity extension listens.
var msiPort = 50342

func endpoint() string {
	return fmt.Sprintf("http://localhost:%d/oauth2/token", msiPort)
}
