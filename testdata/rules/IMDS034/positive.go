package auth

import (
	"encoding/json"
	"os"
)

// msiPathLinux is where the Managed Identity extension writes its settings.
const msiPathLinux = "/var/lib/waagent/ManagedIdentity-Settings"

type msiSettings struct {
	URL string `json:"url"`
}

func msiEndpoint() (string, error) {
	raw, err := os.ReadFile(msiPathLinux)
	if err != nil {
		return "", err
	}
	var s msiSettings
	err = json.Unmarshal(raw, &s)
	return s.URL, err
}
