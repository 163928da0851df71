package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// A session is the key a browser logged in with, sealed (AES-256-GCM) into
// an HttpOnly, SameSite=Strict cookie, with its kind and expiry. Wrap opens
// it on each request and hands the key to the APIs as the Authorization
// header, so the APIs authenticate a browser exactly as any client: a
// rotated or deleted key ends its sessions at the next request, and a
// session reaches nothing its key does not.
//
// The sealing key is derived from the admin key when there is one, so that
// every engine process behind one load balancer (they share the admin key)
// opens every session; without an admin key it is random per process and a
// session is valid only on the process that issued it (docs/console.md).

// CookieName is the session cookie.
const CookieName = "er_console"

// HeaderCSRF must be sent with every request that changes something on a
// session's behalf (and with the login): a cross-site form cannot set it.
// SameSite=Strict already keeps the cookie off cross-site requests; this
// holds where a browser ignores SameSite.
const HeaderCSRF = "Eventrunner-Console"

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Session kinds.
const (
	KindTenant = "tenant"
	KindAdmin  = "admin"
)

type session struct {
	Kind    string `json:"k"`
	Tenant  string `json:"t,omitempty"`
	Key     string `json:"key"`
	Expires int64  `json:"exp"` // Unix seconds
}

// sealer seals and opens sessions.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the sealing key from secret (the admin key), or makes
// a random one when secret is empty.
func newSealer(secret string) (*sealer, error) {
	var key []byte
	if secret == "" {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	} else {
		var err error
		if key, err = hkdf.Key(sha256.New, []byte(secret), nil, "eventrunner console session v1", 32); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(ss session) (string, error) {
	plain, err := json.Marshal(ss)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(CookieName))), nil
}

var errSession = errors.New("console: no valid session")

func (s *sealer) open(v string, now time.Time) (session, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < s.aead.NonceSize() {
		return session{}, errSession
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(CookieName))
	if err != nil {
		return session{}, errSession
	}
	var ss session
	if err := json.Unmarshal(plain, &ss); err != nil || ss.Key == "" || now.Unix() >= ss.Expires {
		return session{}, errSession
	}
	return ss, nil
}

// sessionOf opens r's session cookie.
func (c *Console) sessionOf(r *http.Request) (session, bool) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, false
	}
	ss, err := c.sealer.open(ck.Value, time.Now())
	return ss, err == nil
}

// hasCredentials reports whether r authenticates itself (an API client, or
// the console's own calls that name a key); then the cookie is ignored.
func hasCredentials(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.Header.Get("X-API-Key") != "" || r.Header.Get("X-Admin-Key") != ""
}

// safeMethod is a method that changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Wrap lets a request that carries a console session and no credentials of
// its own reach the APIs under /v1/ and /admin/v1/ as the session's key
// would. A request that changes something must also carry HeaderCSRF.
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasCredentials(r) || !apiPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ss, ok := c.sessionOf(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if !safeMethod(r.Method) && r.Header.Get(HeaderCSRF) == "" {
			writeProblem(w, http.StatusForbidden, HeaderCSRF, "a console session changes nothing without the "+HeaderCSRF+" header")
			return
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+ss.Key)
		next.ServeHTTP(w, r)
	})
}

func apiPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/admin/v1/")
}

// isAdminKey compares key with the admin key in constant time.
func (c *Console) isAdminKey(key string) bool {
	if c.adminHash == nil {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], c.adminHash) == 1
}

// Login is the body of POST /console/login.
type Login struct {
	Key string `json:"key"`
}

// Whoami is what GET /console/session and a login answer.
type Whoami struct {
	Kind   string `json:"kind"`             // "tenant" or "admin"
	Tenant string `json:"tenant,omitempty"` // the tenant's id
	// Expires is when the session ends.
	Expires time.Time `json:"expires"`
}

// login checks the key (the admin key, else a tenant's API key) and sets
// the session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(HeaderCSRF) == "" {
		writeProblem(w, http.StatusForbidden, HeaderCSRF, "log in from the console (the "+HeaderCSRF+" header is missing)")
		return
	}
	var in Login
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	if err := dec.Decode(&in); err != nil || in.Key == "" {
		writeProblem(w, http.StatusBadRequest, "key", "send {\"key\": \"<API key or admin key>\"}")
		return
	}
	ss := session{Key: in.Key, Expires: time.Now().Add(c.ttl).Unix()}
	if c.isAdminKey(in.Key) {
		ss.Kind = KindAdmin
	} else if t, err := c.cfg.Tenants.Authenticate(in.Key); err == nil {
		ss.Kind, ss.Tenant = KindTenant, t.ID
	} else {
		writeProblem(w, http.StatusUnauthorized, "key", "unknown API key")
		return
	}
	v, err := c.sealer.seal(ss)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: v, Path: "/", MaxAge: int(c.ttl.Seconds()),
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, whoami(ss))
}

// secure marks the cookie Secure when the browser reached us over HTTPS
// (directly or through a proxy that says so).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func whoami(ss session) Whoami {
	return Whoami{Kind: ss.Kind, Tenant: ss.Tenant, Expires: time.Unix(ss.Expires, 0).UTC()}
}

// whoamiHandler answers the session, re-checking its key: 401 when the key
// no longer authenticates (rotated, tenant deleted).
func (c *Console) whoamiHandler(w http.ResponseWriter, r *http.Request) {
	ss, ok := c.sessionOf(r)
	if ok && ss.Kind == KindAdmin {
		ok = c.isAdminKey(ss.Key)
	} else if ok {
		t, err := c.cfg.Tenants.Authenticate(ss.Key)
		ok = err == nil && t.ID == ss.Tenant
	}
	if !ok {
		writeProblem(w, http.StatusUnauthorized, "session", "not logged in")
		return
	}
	writeJSON(w, http.StatusOK, whoami(ss))
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(HeaderCSRF) == "" {
		writeProblem(w, http.StatusForbidden, HeaderCSRF, "log out from the console (the "+HeaderCSRF+" header is missing)")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}
