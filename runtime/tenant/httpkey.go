package tenant

import (
	"net/http"
	"strings"
)

// APIKey returns a tenant's key on a request, as every HTTP API reads it:
// "Authorization: Bearer <key>", else "X-API-Key: <key>".
func APIKey(r *http.Request) string {
	if key, ok := bearerKey(r); ok {
		return key
	}
	return r.Header.Get("X-API-Key")
}

// AdminKey is the admin key a request presents: Authorization: Bearer,
// else X-Admin-Key (what the admin API and the console's admin view read).
func AdminKey(r *http.Request) string {
	if key, ok := bearerKey(r); ok {
		return key
	}
	return strings.TrimSpace(r.Header.Get("X-Admin-Key"))
}

// bearerKey is the key of "Authorization: Bearer <key>" (the scheme in any
// case, the key trimmed).
func bearerKey(r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:]), true
	}
	return "", false
}
