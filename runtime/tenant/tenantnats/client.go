package tenantnats

import (
	"github.com/nats-io/nats.go"
)

// ClientOptions are the connection options of a tenant's client that logs
// in with an API key: user = tenant id, password = the key. The auth
// callout places it in the tenant's account, where the default inbox
// prefix, the JetStream API and every NATS tool work as on any server.
func ClientOptions(tenantID, apiKey string) []nats.Option {
	return []nats.Option{nats.UserInfo(tenantID, apiKey)}
}

// Options are an eventrunner process's connection options for creds.
func (c Creds) Options() []nats.Option {
	return []nats.Option{nats.UserJWTAndSeed(c.JWT, string(c.Seed))}
}
