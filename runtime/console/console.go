package console

import (
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

//go:embed static
var staticFiles embed.FS

// Tenants authenticates API keys and finds tenants (tenant.Registry).
type Tenants interface {
	Authenticate(key string) (tenant.Tenant, error)
	Get(id string) (tenant.Tenant, bool)
}

// Config is what the console shows and how it reaches it.
type Config struct {
	Tenants Tenants // required
	// AdminKey is serve's admin key: it logs in to the admin view and
	// derives the sessions' sealing key. Empty: no admin view, sessions
	// valid on this process only.
	AdminKey string
	// SessionTTL bounds a login (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Streams is the JetStream API holding a tenant's stream
	// (tenantnats.Streams.JetStream), for the live tail.
	Streams func(tenantID string) (jetstream.JetStream, error)
	// KnowledgeBases reports the knowledge bases and a tenant's firings on
	// this process (GET /v1/kbs).
	KnowledgeBases func(tenantID string) KBReport
	// NATS is how a tenant connects to NATS; ok false when tenants have no
	// NATS access (an external NATS whose operator eventrunner is not).
	NATS func(tenantID string) (info NATSInfo, ok bool)
	Log  *slog.Logger
}

// Console serves the web console and its endpoints.
type Console struct {
	cfg       Config
	sealer    *sealer
	adminHash []byte // SHA-256 of the admin key; nil without one
	ttl       time.Duration
	static    fs.FS
	log       *slog.Logger
	// closing ends the live tails, which would otherwise hold a graceful
	// shutdown until its timeout (a tail is never idle).
	closing   chan struct{}
	closeOnce sync.Once
}

// New prepares the console.
func New(cfg Config) (*Console, error) {
	if cfg.Tenants == nil {
		return nil, errors.New("console: Config.Tenants is required")
	}
	s, err := newSealer(cfg.AdminKey)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, sealer: s, ttl: cfg.SessionTTL, static: sub, log: cfg.Log, closing: make(chan struct{})}
	if c.ttl <= 0 {
		c.ttl = DefaultSessionTTL
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if cfg.AdminKey != "" {
		sum := sha256.Sum256([]byte(cfg.AdminKey))
		c.adminHash = sum[:]
	}
	return c, nil
}

// Close ends every live tail (their clients reconnect elsewhere); give it
// to http.Server.RegisterOnShutdown.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.closing) }) }

// Register adds the console's routes to mux:
//
//	GET  /console/…            the front end (embedded files)
//	POST /console/login        {"key"} → session cookie + Whoami
//	GET  /console/session      Whoami of the cookie's session, or 401
//	POST /console/logout       clears the cookie
//	GET  /v1/events/stream     the live tail (text/event-stream)
//	GET  /v1/kbs               knowledge bases and the tenant's firings
//	GET  /v1/nats              the tenant's NATS connection details
//
// The /v1 endpoints take an API key like every /v1 endpoint, or the admin
// key with ?tenant=ID; a browser's session reaches them through Wrap.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	mux.Handle("GET /console/", c.pageHeaders(http.StripPrefix("/console/", http.FileServerFS(c.static))))
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("GET /console/session", c.whoamiHandler)
	mux.HandleFunc("POST /console/logout", c.logout)
	mux.HandleFunc("GET /v1/events/stream", c.tenant(c.stream))
	mux.HandleFunc("GET /v1/kbs", c.tenant(c.kbs))
	mux.HandleFunc("GET /v1/nats", c.tenant(c.nats))
}

// csp keeps every script, style and connection on this origin: no inline
// script runs, nothing loads from elsewhere, no page frames the console.
const csp = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (c *Console) pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// tenant resolves the tenant of a request: the API key's, or with the
// admin key the one ?tenant= names.
func (c *Console) tenant(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.isAdminKey(tenant.AdminKey(r)) {
			id := r.URL.Query().Get("tenant")
			if id == "" {
				writeProblem(w, http.StatusBadRequest, "tenant", "with the admin key, name the tenant: ?tenant=ID")
				return
			}
			if _, ok := c.cfg.Tenants.Get(id); !ok {
				writeProblem(w, http.StatusNotFound, "tenant", "no tenant "+id)
				return
			}
			next(w, r, id)
			return
		}
		t, err := c.cfg.Tenants.Authenticate(tenant.APIKey(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
			writeProblem(w, http.StatusUnauthorized, "Authorization", "missing or unknown API key")
			return
		}
		next(w, r, t.ID)
	}
}

// KBReport is the body of GET /v1/kbs.
type KBReport struct {
	// Scope says what the counts cover: "process" (this engine process
	// since it started), or "none" when this process runs no engine.
	Scope string `json:"scope"`
	// Since is when this process's counts began.
	Since          time.Time       `json:"since"`
	Bundle         string          `json:"bundle"`
	KnowledgeBases []KnowledgeBase `json:"knowledge_bases"`
}

// KnowledgeBase is one knowledge base and its rules' firings for the tenant.
type KnowledgeBase struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	On      []string `json:"on"`
	Schema  string   `json:"schema"`
	Rules   []Rule   `json:"rules"`
	Fired   int64    `json:"fired"` // the sum over its rules
}

// Rule is one rule and how often it fired.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Salience    int    `json:"salience"`
	Fired       int64  `json:"fired"`
}

func (c *Console) kbs(w http.ResponseWriter, r *http.Request, tenantID string) {
	if c.cfg.KnowledgeBases == nil {
		writeJSON(w, http.StatusOK, KBReport{Scope: "none", KnowledgeBases: []KnowledgeBase{}})
		return
	}
	writeJSON(w, http.StatusOK, c.cfg.KnowledgeBases(tenantID))
}

// NATSInfo is the body of GET /v1/nats: how the tenant reaches its stream
// over NATS.
type NATSInfo struct {
	// URLs are the NATS servers as the engine connects to them.
	URLs []string `json:"urls"`
	// Account is the public key of the tenant's NATS account.
	Account string `json:"account"`
	// User is the NATS user of an API-key login (the password is one of
	// the tenant's API keys, never shown).
	User     string   `json:"user"`
	Stream   string   `json:"stream"`
	Subjects Subjects `json:"subjects"`
	// Examples are natscli and eventrunner commands that read the stream.
	Examples []string `json:"examples"`
}

// Subjects are the tenant's subjects in its stream.
type Subjects struct {
	Events      string `json:"events"`
	Outputs     string `json:"outputs"`
	DeadLetters string `json:"dead_letters"`
}

func (c *Console) nats(w http.ResponseWriter, r *http.Request, tenantID string) {
	if c.cfg.NATS == nil {
		writeProblem(w, http.StatusNotFound, "", "tenants have no NATS access: the NATS server is not run with eventrunner's operator (see docs/tenants.md)")
		return
	}
	info, ok := c.cfg.NATS(tenantID)
	if !ok {
		writeProblem(w, http.StatusNotFound, "", "tenants have no NATS access: the NATS server is not run with eventrunner's operator (see docs/tenants.md)")
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // readable filters (er.t.acme.>); the console shows every value as text
	_ = enc.Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, field, detail string) {
	problem.Write(w, problem.New(status, field, detail))
}
