package tenantnats

import (
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Account names as they appear in the JWTs (servers log them).
const (
	SystemAccountName = "SYS"
	EngineAccountName = "ER"
	AuthAccountName   = "AUTH"
)

// OperatorJWT is the operator's self-signed JWT, which every server trusts.
func (k *Keys) OperatorJWT() (string, error) {
	oc := jwt.NewOperatorClaims(Public(k.operator))
	oc.Name = "eventrunner"
	oc.SystemAccount = Public(k.System())
	return encode("operator", oc, k.operator)
}

// SystemAccountJWT is the system account's JWT.
func (k *Keys) SystemAccountJWT() (string, error) {
	ac := jwt.NewAccountClaims(Public(k.System()))
	ac.Name = SystemAccountName
	return encode("system account", ac, k.operator)
}

// AuthAccountJWT is the auth callout account: its one service user answers
// the server's authorization requests for every login without a JWT (the
// default sentinel puts them here) and may place users in any account.
func (k *Keys) AuthAccountJWT() (string, error) {
	ac := jwt.NewAccountClaims(Public(k.Auth()))
	ac.Name = AuthAccountName
	ac.EnableExternalAuthorization(Public(k.CalloutUser()))
	ac.Authorization.AllowedAccounts.Add(jwt.AnyAccount)
	return encode("auth account", ac, k.operator)
}

// EngineAccountJWT is the engine's account, with JetStream unlimited, the
// raw-ingest services it exports to tenants, the processed events it
// exports as a stream (each tenant's account imports its own), and, per
// tenant, the imports through which the tenant's stream's PubAcks come
// back and it drives the tenant account's JetStream API. tenantIDs need not
// be sorted.
func (k *Keys) EngineAccountJWT(tenantIDs []string) (string, error) {
	ac := jwt.NewAccountClaims(Public(k.Engine()))
	ac.Name = EngineAccountName
	ac.Limits.JetStreamLimits = unlimitedJetStream()
	ac.Exports.Add(
		&jwt.Export{Name: "raw events", Subject: "er.raw.*", Type: jwt.Service},
		&jwt.Export{Name: "raw events by type", Subject: "er.raw.*.>", Type: jwt.Service},
		// A stream export, not a service import of the tenant's: a service
		// hop per message (client info header, response mapping) cost 2× the
		// tenant-stream write itself (docs/design.md).
		&jwt.Export{Name: "processed events", Subject: "er.t.*.>", Type: jwt.Stream},
	)
	ids := append([]string(nil), tenantIDs...)
	sort.Strings(ids)
	for _, id := range ids {
		ac.Imports.Add(engineImports(id, Public(k.Tenant(id)))...)
	}
	return encode("engine account", ac, k.operator)
}

func engineImports(id, account string) []*jwt.Import {
	svc := func(name, remote, local string) *jwt.Import {
		return &jwt.Import{Name: id + " " + name, Subject: jwt.Subject(remote), LocalSubject: jwt.RenamingSubject(local),
			Account: account, Type: jwt.Service}
	}
	return []*jwt.Import{
		{Name: id + " event acks", Subject: jwt.Subject(bus.TenantAckSubjects(id)), Account: account, Type: jwt.Stream},
		svc("outputs", OutFilter(id), ""),
		svc("dead letters", TenantDLQSubject(id), DLQForwardSubject(id)),
		svc("jetstream", "$JS.API.>", APIPrefix(id)+".>"),
		svc("acks", ackSubjects(id), ""),
	}
}

// TenantAccountJWT is tenant t's account: JetStream on, the services the
// engine imports from it, raw ingest imported from the engine, and one
// scoped signing key per API key (the callout signs logins with it) plus
// one for creds files. Every user signed by them gets TenantPermissions.
// eventReplicas is the replica count of t's event stream, for its quota
// (tenantLimits).
func (k *Keys) TenantAccountJWT(t tenant.Tenant, eventReplicas int) (string, error) {
	ac := jwt.NewAccountClaims(Public(k.Tenant(t.ID)))
	ac.Name = t.ID
	ac.Limits.Conn, ac.Limits.JetStreamLimits = tenantLimits(t, eventReplicas)
	ac.Exports.Add(
		&jwt.Export{Name: "event acks", Subject: jwt.Subject(bus.TenantAckSubjects(t.ID)), Type: jwt.Stream},
		&jwt.Export{Name: "outputs", Subject: jwt.Subject(OutFilter(t.ID)), Type: jwt.Service},
		&jwt.Export{Name: "dead letters", Subject: jwt.Subject(TenantDLQSubject(t.ID)), Type: jwt.Service},
		// MSG.NEXT answers with many messages: a stream response.
		&jwt.Export{Name: "jetstream", Subject: "$JS.API.>", Type: jwt.Service, ResponseType: jwt.ResponseTypeStream},
		&jwt.Export{Name: "acks", Subject: jwt.Subject(ackSubjects(t.ID)), Type: jwt.Service},
	)
	engine := Public(k.Engine())
	ac.Imports.Add(
		&jwt.Import{Name: "events", Subject: jwt.Subject("er.t." + t.ID + ".>"), Account: engine, Type: jwt.Stream},
		&jwt.Import{Name: "raw events", Subject: jwt.Subject("er.raw." + t.ID), Account: engine, Type: jwt.Service},
		&jwt.Import{Name: "raw events by type", Subject: jwt.Subject("er.raw." + t.ID + ".>"), Account: engine, Type: jwt.Service},
	)
	perms := TenantPermissions(t.ID)
	for _, h := range t.KeyHashes {
		ac.SigningKeys.AddScopedSigner(scope(k.TenantAPIKeySigner(t.ID, h), "api-key", perms))
	}
	ac.SigningKeys.AddScopedSigner(scope(k.TenantCredsSigner(t.ID), "creds", perms))
	return encode("tenant "+t.ID+" account", ac, k.operator)
}

// TombstoneJWT replaces a deleted tenant's account: no signing keys (so
// every user of it is disconnected at once), every earlier user revoked,
// JetStream off, no imports or exports.
func (k *Keys) TombstoneJWT(id string) (string, error) {
	ac := jwt.NewAccountClaims(Public(k.Tenant(id)))
	ac.Name = id + " (deleted)"
	ac.Limits.Conn = 0
	ac.Revoke(jwt.All)
	return encode("tenant "+id+" tombstone", ac, k.operator)
}

// TenantPermissions are what a tenant's users may do inside their own
// account: anything (their account's JetStream, their own streams and KV
// buckets), except changing or emptying the stream the engine writes,
// forging its content, answering the engine's requests or faking the acks
// of its writes (AckPrefix), or watching the JetStream API traffic the
// engine sends into the account.
func TenantPermissions(id string) jwt.Permissions {
	s := StreamName(id)
	var p jwt.Permissions
	p.Pub.Deny.Add(
		"$JS.API.STREAM.UPDATE."+s, "$JS.API.STREAM.DELETE."+s, "$JS.API.STREAM.PURGE."+s,
		"$JS.API.STREAM.MSG.DELETE."+s, "$JS.API.STREAM.RESTORE."+s,
		"er.t."+id+".>", OutFilter(id), TenantDLQSubject(id),
		"_R_.>", bus.AckPrefix+".>",
	)
	p.Sub.Deny.Add("$JS.API.>", "_R_.>", bus.AckPrefix+".>")
	return p
}

func scope(kp nkeys.KeyPair, role string, perms jwt.Permissions) *jwt.UserScope {
	s := jwt.NewUserScope()
	s.Key = Public(kp)
	s.Role = role
	s.Template.Permissions = perms
	return s
}

// TenantUserJWT is a user of tenant id's account with public key userPub,
// signed by signer (one of the account's scoped signing keys); expires 0
// never expires.
func (k *Keys) TenantUserJWT(id, userPub string, signer nkeys.KeyPair, expires time.Time) (string, error) {
	uc := jwt.NewUserClaims(userPub)
	uc.Name = id
	uc.IssuerAccount = Public(k.Tenant(id))
	// A scoped signer's users carry no permissions of their own: the
	// server applies the scope's template.
	uc.UserPermissionLimits = jwt.UserPermissionLimits{}
	if !expires.IsZero() {
		uc.Expires = expires.Unix()
	}
	return encode("tenant "+id+" user", uc, signer)
}

// Creds are a user's JWT and seed, as in a .creds file.
type Creds struct {
	JWT  string
	Seed []byte
}

// File renders the creds in the format of nsc's .creds files, which every
// NATS client library and the nats CLI read.
func (c Creds) File() ([]byte, error) { return jwt.FormatUserConfig(c.JWT, c.Seed) }

// EngineCreds, SystemCreds and CalloutCreds are the fixed users' creds.
func (k *Keys) EngineCreds() (Creds, error) { return k.userCreds("engine", k.EngineUser(), k.Engine()) }
func (k *Keys) SystemCreds() (Creds, error) { return k.userCreds("system", k.SystemUser(), k.System()) }
func (k *Keys) CalloutCreds() (Creds, error) {
	return k.userCreds("callout", k.CalloutUser(), k.Auth())
}

func (k *Keys) userCreds(name string, user, account nkeys.KeyPair) (Creds, error) {
	uc := jwt.NewUserClaims(Public(user))
	uc.Name = name
	tok, err := encode(name+" user", uc, account)
	if err != nil {
		return Creds{}, err
	}
	seed, err := user.Seed()
	if err != nil {
		return Creds{}, fmt.Errorf("tenantnats: %s user seed: %w", name, err)
	}
	return Creds{JWT: tok, Seed: seed}, nil
}

// TenantCreds issues a new user of tenant id's account, signed by its
// creds signing key, for a .creds file.
func (k *Keys) TenantCreds(id string, expires time.Time) (Creds, error) {
	u, err := nkeys.CreateUser()
	if err != nil {
		return Creds{}, fmt.Errorf("tenantnats: tenant %s creds: %w", id, err)
	}
	tok, err := k.TenantUserJWT(id, Public(u), k.TenantCredsSigner(id), expires)
	if err != nil {
		return Creds{}, err
	}
	seed, err := u.Seed()
	if err != nil {
		return Creds{}, fmt.Errorf("tenantnats: tenant %s creds: %w", id, err)
	}
	return Creds{JWT: tok, Seed: seed}, nil
}

// SentinelJWT is the bearer user that servers hand to every client that
// logs in without a JWT (default_sentinel): it belongs to the auth account
// and may do nothing, so the only way on is through the callout.
func (k *Keys) SentinelJWT() (string, error) {
	uc := jwt.NewUserClaims(Public(k.SentinelUser()))
	uc.Name = "sentinel"
	uc.BearerToken = true
	uc.Pub.Deny.Add(">")
	uc.Sub.Deny.Add(">")
	return encode("sentinel user", uc, k.Auth())
}

// EngineConsumers is how many consumers the engine may run on a tenant's
// event stream: its analytics consumer and up to 8 WASM consumers
// (wasm.Manager's default MaxPerTenant). A tenant's max_consumers comes on
// top, since NATS counts consumers per stream.
const EngineConsumers = 1 + 8

// tenantLimits turns t's quotas into its account's limits (-1 is NATS's
// unlimited): the event stream is one stream more than the tenant's own,
// its max_bytes (times its replicas, as a cluster counts storage) is
// reserved beside the tenant's storage, every stream must then say its
// max_bytes, and the engine's consumers on the event stream come beside
// the tenant's.
func tenantLimits(t tenant.Tenant, eventReplicas int) (conns int64, js jwt.JetStreamLimits) {
	orUnlimited := func(n, extra int64) int64 {
		if n <= 0 {
			return -1
		}
		return n + extra
	}
	q := t.NATS
	js = jwt.JetStreamLimits{
		DiskStorage: orUnlimited(q.MaxStorage, t.MaxBytes*int64(max(eventReplicas, 1))),
		Streams:     orUnlimited(int64(q.MaxStreams), 1),
		Consumer:    orUnlimited(int64(q.MaxConsumers), EngineConsumers),
		// A stream's max_bytes is reserved when it is created: with every
		// stream bounded, the tenant's cannot fill the event stream's share.
		MaxBytesRequired: q.MaxStorage > 0,
	}
	return orUnlimited(int64(q.MaxConnections), 0), js
}

func unlimitedJetStream() jwt.JetStreamLimits {
	return jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1, MaxAckPending: -1,
		MemoryMaxStreamBytes: -1, DiskMaxStreamBytes: -1}
}

type claims interface {
	Encode(nkeys.KeyPair) (string, error)
}

func encode(what string, c claims, kp nkeys.KeyPair) (string, error) {
	tok, err := c.Encode(kp)
	if err != nil {
		return "", fmt.Errorf("tenantnats: encode %s: %w", what, err)
	}
	return tok, nil
}
