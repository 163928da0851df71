package tenantnats

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// calloutSubject is where servers send authorization requests, in the auth
// account; calloutQueue shares them among engine processes.
const (
	calloutSubject = "$SYS.REQ.USER.AUTH"
	calloutQueue   = "eventrunner-callout"
)

// KeyAuthenticator finds the tenant an API key belongs to
// (tenant.Registry is one).
type KeyAuthenticator interface {
	Authenticate(key string) (tenant.Tenant, error)
}

// Callout is the auth callout service: a client that connects with user =
// tenant id and password = one of the tenant's API keys (and no JWT) is
// given a user of the tenant's account, signed by that key's signing key,
// so that NATS logins work with the same keys as the HTTP API and revoking
// a key closes exactly its connections.
type Callout struct {
	keys *Keys
	reg  KeyAuthenticator
	log  *slog.Logger
	sub  *nats.Subscription
}

// StartCallout serves authorization requests on nc, a connection with the
// callout user's creds (Keys.CalloutCreds). Stop it with Stop.
func StartCallout(nc *nats.Conn, keys *Keys, reg KeyAuthenticator, log *slog.Logger) (*Callout, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Callout{keys: keys, reg: reg, log: log}
	sub, err := nc.QueueSubscribe(calloutSubject, calloutQueue, c.serve)
	if err != nil {
		return nil, fmt.Errorf("tenantnats: auth callout: %w", err)
	}
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("tenantnats: auth callout: %w", err)
	}
	c.sub = sub
	return c, nil
}

// Stop stops serving; logins without a JWT fail until another process
// serves them.
func (c *Callout) Stop() { _ = c.sub.Unsubscribe() }

func (c *Callout) serve(m *nats.Msg) {
	rc, err := jwt.DecodeAuthorizationRequestClaims(string(m.Data))
	if err != nil {
		c.log.Warn("auth callout: malformed request", "err", err)
		return // no answer: the server times the login out
	}
	res := jwt.NewAuthorizationResponseClaims(rc.UserNkey)
	res.Audience = rc.Server.ID
	user, err := c.authorize(rc)
	if err != nil {
		res.Error = err.Error()
		c.log.Info("NATS login refused", "user", rc.ConnectOptions.Username, "host", rc.ClientInformation.Host, "reason", err)
	} else {
		res.Jwt = user
	}
	tok, err := res.Encode(c.keys.Auth())
	if err != nil {
		c.log.Error("auth callout: sign response", "err", err)
		return
	}
	if err := m.Respond([]byte(tok)); err != nil {
		c.log.Warn("auth callout: respond", "err", err)
	}
}

// errBadLogin is all a refused client learns: which part was wrong is
// logged, not told.
var errBadLogin = errors.New("unknown tenant or API key")

func (c *Callout) authorize(rc *jwt.AuthorizationRequestClaims) (string, error) {
	id, key := rc.ConnectOptions.Username, rc.ConnectOptions.Password
	if id == "" || key == "" {
		return "", errBadLogin
	}
	t, err := c.reg.Authenticate(key)
	if err != nil || t.ID != id {
		return "", errBadLogin
	}
	return c.keys.TenantUserJWT(t.ID, rc.UserNkey, c.keys.TenantAPIKeySigner(t.ID, tenant.HashKey(key)), time.Time{})
}
