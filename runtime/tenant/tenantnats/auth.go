package tenantnats

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// EngineUser is the engine's NATS user. It cannot clash with a tenant id,
// which never starts with '_'.
const EngineUser = "_engine"

// Auth authenticates NATS clients of the embedded server against the
// tenant registry, so that a tenant created or rotated while the server
// runs can connect at once, and a deleted or rotated-out key cannot.
type Auth struct {
	reg        *tenant.Registry
	engineHash [sha256.Size]byte
}

// NewAuth returns the authenticator: enginePassword for EngineUser, the
// tenants' API keys for their ids.
func NewAuth(reg *tenant.Registry, enginePassword string) *Auth {
	return &Auth{reg: reg, engineHash: sha256.Sum256([]byte(enginePassword))}
}

// Check implements server.Authentication.
func (a *Auth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o == nil {
		return false
	}
	if o.Username == EngineUser {
		sum := sha256.Sum256([]byte(o.Password))
		if subtle.ConstantTimeCompare(sum[:], a.engineHash[:]) != 1 {
			return false
		}
		c.RegisterUser(&server.User{Username: EngineUser})
		return true
	}
	t, err := a.reg.Authenticate(o.Password)
	if err != nil || t.ID != o.Username {
		return false
	}
	c.RegisterUser(&server.User{Username: t.ID, Permissions: Permissions(t.ID)})
	return true
}

// InboxPrefix is the reply-subject prefix a tenant's client must use
// (nats.CustomInboxPrefix): the only inboxes it may subscribe to, so that
// it never sees another client's replies or fetched messages.
func InboxPrefix(tenantID string) string { return "_INBOX_" + tenantID }

// Permissions are a tenant's rights: read its own stream through the
// JetStream API (consumers of any kind, fetch, ack), subscribe to its own
// processed and output subjects and its own inbox, and publish as a NATS
// producer to its own er.raw subjects. Everything else is denied: other
// tenants' subjects and streams, the engine's subjects, creating or
// changing streams.
func Permissions(tenantID string) *server.Permissions {
	s := StreamName(tenantID)
	api := "$JS.API."
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			api + "INFO",
			api + "STREAM.INFO." + s,
			api + "STREAM.MSG.GET." + s,
			api + "DIRECT.GET." + s,
			api + "DIRECT.GET." + s + ".>",
			api + "CONSUMER.CREATE." + s,
			api + "CONSUMER.CREATE." + s + ".>",
			api + "CONSUMER.DURABLE.CREATE." + s + ".*",
			api + "CONSUMER.INFO." + s + ".*",
			api + "CONSUMER.DELETE." + s + ".*",
			api + "CONSUMER.NAMES." + s,
			api + "CONSUMER.LIST." + s,
			api + "CONSUMER.MSG.NEXT." + s + ".*",
			"$JS.ACK." + s + ".>",
			"$JS.FC." + s + ".>",
			"er.raw." + tenantID,
			"er.raw." + tenantID + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			InboxPrefix(tenantID) + ".>",
			"er.t." + tenantID + ".>",
			"er.out." + tenantID + ".>",
		}},
	}
}

// Disconnect closes every client connection of a tenant, so that a deleted
// tenant or a rotated-out key stops reading at once rather than at its next
// reconnect (which Check then refuses). It returns how many it closed.
func Disconnect(ns *server.Server, tenantID string) (int, error) {
	cz, err := ns.Connz(&server.ConnzOptions{User: tenantID, Username: true, Limit: 1 << 16})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cz.Conns {
		if ns.DisconnectClientByID(c.Cid) == nil {
			n++
		}
	}
	return n, nil
}
