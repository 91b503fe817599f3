package adal

// NewServicePrincipalTokenFromMSI creates a token from the managed identity endpoint.
// Callers use adal.NewServicePrincipalTokenFromMSI(endpoint, resource).
func NewServicePrincipalTokenFromMSI(msiEndpoint, resource string) (*Token, error) {
	return newToken(msiEndpoint, resource)
}

const help = "call NewServicePrincipalTokenFromMSI(endpoint, resource)"
