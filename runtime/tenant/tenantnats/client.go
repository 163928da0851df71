package tenantnats

import (
	"github.com/nats-io/nats.go"
)

// ClientOptions are the connection options a tenant's client needs on a
// server using Auth: its credentials and its own inbox prefix (the only
// inboxes it may subscribe to).
func ClientOptions(tenantID, apiKey string) []nats.Option {
	return []nats.Option{nats.UserInfo(tenantID, apiKey), nats.CustomInboxPrefix(InboxPrefix(tenantID))}
}
