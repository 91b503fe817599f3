package legacy

import (
	"net/http"
	"net/url"
)

func token(resource string) (*http.Response, error) {
	return http.PostForm("http://localhost:50342/oauth2/token", url.Values{"resource": {resource}})
}
