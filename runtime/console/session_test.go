package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

const (
	acmeKey  = "acme-key-0123456789abcdef"
	otherKey = "other-key-0123456789abcdef"
	adminKey = "admin-key-0123456789abcdef"
)

func newTestConsole(t *testing.T, admin string) (*Console, *tenant.Registry) {
	t.Helper()
	reg := tenant.NewRegistry()
	for id, key := range map[string]string{"acme": acmeKey, "other": otherKey} {
		if err := reg.Add(tenant.Tenant{ID: id, KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{Tenants: reg, AdminKey: admin})
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

// server is the console in front of an API that echoes the key it got.
func server(c *Console) http.Handler {
	mux := http.NewServeMux()
	c.Register(mux)
	echo := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "key="+tenant.APIKey(r)) }
	mux.HandleFunc("GET /v1/events", echo)
	mux.HandleFunc("POST /v1/dlq/redrive", echo)
	mux.HandleFunc("GET /elsewhere", echo)
	return c.Wrap(mux)
}

func do(h http.Handler, method, path, cookie string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var csrf = map[string]string{HeaderCSRF: "1"}

func login(t *testing.T, h http.Handler, key string) *http.Cookie {
	t.Helper()
	w := do(h, "POST", "/console/login", "", csrf, `{"key":"`+key+`"}`)
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == CookieName {
			return ck
		}
	}
	t.Fatal("login set no cookie")
	return nil
}

func TestLoginCookie(t *testing.T) {
	c, _ := newTestConsole(t, adminKey)
	h := server(c)
	ck := login(t, h, acmeKey)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.MaxAge <= 0 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", ck)
	}
	if strings.Contains(ck.Value, acmeKey) {
		t.Error("the cookie carries the key in the clear")
	}
	if w := do(h, "GET", "/console/session", ck.Value, nil, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"tenant":"acme"`) {
		t.Errorf("session: %d %s", w.Code, w.Body)
	}
	if w := do(h, "GET", "/console/session", login(t, h, adminKey).Value, nil, ""); !strings.Contains(w.Body.String(), `"kind":"admin"`) {
		t.Errorf("admin session: %s", w.Body)
	}
	for name, tc := range map[string]struct {
		hdr  map[string]string
		body string
		want int
	}{
		"unknown key":  {csrf, `{"key":"nope-0123456789abcdef"}`, 401},
		"no key":       {csrf, `{}`, 400},
		"cross-site":   {nil, `{"key":"` + acmeKey + `"}`, 403}, // no console header: a form posted from elsewhere
		"not json":     {csrf, `key=` + acmeKey, 400},
		"admin as key": {csrf, `{"key":"` + adminKey + `x"}`, 401},
	} {
		if w := do(h, "POST", "/console/login", "", tc.hdr, tc.body); w.Code != tc.want {
			t.Errorf("%s: login answered %d, want %d: %s", name, w.Code, tc.want, w.Body)
		}
	}
}

func TestWrap(t *testing.T) {
	c, reg := newTestConsole(t, adminKey)
	h := server(c)
	acme := login(t, h, acmeKey).Value
	for name, tc := range map[string]struct {
		method, path, cookie string
		hdr                  map[string]string
		code                 int
		body                 string
	}{
		"session reads":                {"GET", "/v1/events", acme, nil, 200, "key=" + acmeKey},
		"session changes with header":  {"POST", "/v1/dlq/redrive", acme, csrf, 200, "key=" + acmeKey},
		"session changes, no header":   {"POST", "/v1/dlq/redrive", acme, nil, 403, ""},
		"own credentials win":          {"GET", "/v1/events", acme, map[string]string{"Authorization": "Bearer " + otherKey}, 200, "key=" + otherKey},
		"no session":                   {"GET", "/v1/events", "", nil, 200, "key="},
		"forged cookie":                {"GET", "/v1/events", acme[:len(acme)-2] + "AA", nil, 200, "key="},
		"not an API path":              {"GET", "/elsewhere", acme, nil, 200, "key="},
		"another process's session":    {"GET", "/v1/events", sealed(t, "", acmeKey), nil, 200, "key="},
		"expired session":              {"GET", "/v1/events", sealedAt(t, adminKey, acmeKey, time.Now().Add(-time.Second)), nil, 200, "key="},
		"same admin key, same sealing": {"GET", "/v1/events", sealed(t, adminKey, acmeKey), nil, 200, "key=" + acmeKey},
	} {
		w := do(h, tc.method, tc.path, tc.cookie, tc.hdr, "")
		if w.Code != tc.code || (tc.body != "" && w.Body.String() != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", name, w.Code, w.Body, tc.code, tc.body)
		}
	}
	// A rotated key ends its sessions: the session check says so, and the
	// APIs (which authenticate the key Wrap hands them) refuse it.
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey("acme-new-key-0123456789")}}); err != nil {
		t.Fatal(err)
	}
	if w := do(h, "GET", "/console/session", acme, nil, ""); w.Code != 401 {
		t.Errorf("session after rotation: %d %s", w.Code, w.Body)
	}
}

// sealed is a session for key sealed as a console with admin key admin
// (a random sealing key when empty) would seal it.
func sealed(t *testing.T, admin, key string) string {
	return sealedAt(t, admin, key, time.Now().Add(time.Hour))
}

func sealedAt(t *testing.T, admin, key string, exp time.Time) string {
	t.Helper()
	s, err := newSealer(admin)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.seal(session{Kind: KindTenant, Tenant: "acme", Key: key, Expires: exp.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTenantScope(t *testing.T) {
	c, _ := newTestConsole(t, adminKey)
	c.cfg.KnowledgeBases = func(id string) KBReport { return KBReport{Scope: "process", Bundle: "for-" + id} }
	h := server(c)
	for name, tc := range map[string]struct {
		path, key string
		code      int
		want      string
		header    string // the header that carries key; default Authorization: Bearer
	}{
		"admin key as X-Admin-Key":    {"/v1/kbs?tenant=other", adminKey, 200, `"bundle":"for-other"`, "X-Admin-Key"},
		"tenant key as X-API-Key":     {"/v1/kbs", acmeKey, 200, `"bundle":"for-acme"`, "X-API-Key"},
		"tenant key as X-Admin-Key":   {"/v1/kbs?tenant=other", acmeKey, 401, "API key", "X-Admin-Key"},
		"tenant key":                  {"/v1/kbs", acmeKey, 200, `"bundle":"for-acme"`, ""},
		"tenant key names another":    {"/v1/kbs?tenant=other", acmeKey, 200, `"bundle":"for-acme"`, ""}, // ?tenant= is the admin's only
		"admin names a tenant":        {"/v1/kbs?tenant=other", adminKey, 200, `"bundle":"for-other"`, ""},
		"admin names none":            {"/v1/kbs", adminKey, 400, "?tenant=ID", ""},
		"admin names an unknown":      {"/v1/kbs?tenant=ghost", adminKey, 404, "no tenant ghost", ""},
		"no key":                      {"/v1/kbs", "", 401, "API key", ""},
		"no NATS tenancy":             {"/v1/nats", acmeKey, 404, "no NATS access", ""},
		"no tenant streams, no tail":  {"/v1/events/stream", acmeKey, 404, "no tenant streams", ""},
		"admin key without ?tenant=":  {"/v1/nats", adminKey, 400, "tenant", ""},
		"other tenant's own key":      {"/v1/kbs", otherKey, 200, `"bundle":"for-other"`, ""},
		"session of no tenant at all": {"/v1/kbs", "nope-0123456789abcdef", 401, "", ""},
	} {
		hdr := map[string]string{"Authorization": "Bearer " + tc.key}
		if tc.header != "" {
			hdr = map[string]string{tc.header: tc.key}
		}
		w := do(h, "GET", tc.path, "", hdr, "")
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", name, w.Code, w.Body, tc.code, tc.want)
		}
	}
}

var handlerAttr = regexp.MustCompile(`\son[a-z]+=`)

func TestPages(t *testing.T) {
	c, _ := newTestConsole(t, "")
	h := server(c)
	if w := do(h, "GET", "/console", "", nil, ""); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/console/" {
		t.Errorf("/console: %d %v", w.Code, w.Header())
	}
	for _, p := range []string{"/console/", "/console/console.js", "/console/dom.js", "/console/console.css"} {
		w := do(h, "GET", p, "", nil, "")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Security-Policy"), "default-src 'self'") ||
			w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", p, w.Code, w.Header())
		}
	}
	// No inline script, nothing from another origin, no HTML built from data.
	index := do(h, "GET", "/console/", "", nil, "").Body.String()
	if strings.Contains(index, "<script>") || strings.Contains(index, "http://") || strings.Contains(index, "https://") || handlerAttr.MatchString(index) {
		t.Error("index.html has an inline script, a handler attribute or an outside URL")
	}
	for _, p := range []string{"/console/console.js", "/console/dom.js"} {
		js := do(h, "GET", p, "", nil, "").Body.String()
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
	}
	// Without an admin key, the admin key logs nobody in.
	if w := do(h, "POST", "/console/login", "", csrf, `{"key":""}`); w.Code != 400 {
		t.Errorf("empty key: %d", w.Code)
	}
}
