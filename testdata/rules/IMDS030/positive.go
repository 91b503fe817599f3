package msi

import "net/http"

// tokenURL is the Managed Identity extension's endpoint.
const tokenURL = "http://localhost:50342/oauth2/token?resource=https://management.azure.com/"

func Token() (*http.Response, error) {
	req, err := http.NewRequest("GET", tokenURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Metadata", "true")
	return http.DefaultClient.Do(req)
}
