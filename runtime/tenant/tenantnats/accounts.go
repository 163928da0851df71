package tenantnats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Accounts keeps the servers' accounts in step with the tenants: it issues
// each tenant's account JWT and the engine account's (which imports from
// every tenant) and pushes them to the servers' account resolvers over the
// system account ($SYS.REQ.CLAIMS.UPDATE). A JWT whose content the servers
// already hold is not pushed again, so every engine process may apply the
// same registry without churn.
type Accounts struct {
	keys *Keys
	sys  *nats.Conn
	// Timeout bounds one push or lookup; default 10 s.
	Timeout time.Duration
	// EventReplicas is the replica count of the tenants' event streams
	// (bus.Replication.N), whose max_bytes is reserved that many times in
	// an account with a storage quota; 0 is 1.
	EventReplicas int
}

// NewAccounts pushes over sys, a connection with Keys.SystemCreds.
func NewAccounts(sys *nats.Conn, keys *Keys) *Accounts {
	return &Accounts{keys: keys, sys: sys, Timeout: 10 * time.Second}
}

// Apply brings every tenant's account, and then the engine's, to match ts.
func (a *Accounts) Apply(ctx context.Context, ts []tenant.Tenant) error {
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		if err := a.PutTenant(ctx, t); err != nil {
			return err
		}
		ids = append(ids, t.ID)
	}
	return a.PutEngine(ctx, ids)
}

// PutTenant pushes tenant t's account. A new tenant's account must exist
// before the engine's imports from it are pushed (PutEngine).
func (a *Accounts) PutTenant(ctx context.Context, t tenant.Tenant) error {
	return a.push(ctx, func() (string, error) { return a.keys.TenantAccountJWT(t, a.EventReplicas) })
}

// PutEngine pushes the engine account with the imports of tenantIDs.
func (a *Accounts) PutEngine(ctx context.Context, tenantIDs []string) error {
	return a.push(ctx, func() (string, error) { return a.keys.EngineAccountJWT(tenantIDs) })
}

// RemoveTenant replaces tenant id's account by a tombstone, which closes
// every connection of the tenant. Push the engine account without its
// imports first (PutEngine with the remaining tenants).
func (a *Accounts) RemoveTenant(ctx context.Context, id string) error {
	return a.push(ctx, func() (string, error) { return a.keys.TombstoneJWT(id) })
}

// PutFixed pushes the system and auth accounts, for servers configured by
// an older engine version; Apply follows with the tenants and the engine.
func (a *Accounts) PutFixed(ctx context.Context) error {
	for _, issue := range []func() (string, error){a.keys.SystemAccountJWT, a.keys.AuthAccountJWT} {
		if err := a.push(ctx, issue); err != nil {
			return err
		}
	}
	return nil
}

// claimUpdateResponse is a server's answer to $SYS.REQ.CLAIMS.UPDATE.
type claimUpdateResponse struct {
	Server struct {
		Name string `json:"name"`
	} `json:"server"`
	Data *struct {
		Account string `json:"account"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"data"`
	Error *struct {
		Account     string `json:"account"`
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

// push brings the servers' copy of an account to the JWT issue makes.
// Nothing is pushed when the servers hold the same content already. A
// push waits for every server of the cluster to answer: the update is
// one request that each server's resolver answers, and a server not yet
// routed to the pusher's misses it until the resolvers' next sync,
// minutes later. An account's JWT is always issued in a later second than
// the one it replaces, since a resolver keeps the newer of two JWTs by
// issue time only: two of the same second would let a sync bring the old
// one back.
func (a *Accounts) push(ctx context.Context, issue func() (string, error)) error {
	for {
		tok, err := issue()
		if err != nil {
			return err
		}
		ac, err := jwt.DecodeAccountClaims(tok)
		if err != nil {
			return fmt.Errorf("tenantnats: push: %w", err)
		}
		cur, err := a.lookup(ctx, ac.Subject)
		if err == nil && sameClaims(cur, ac) {
			return nil
		}
		if err == nil && cur.IssuedAt >= ac.IssuedAt {
			next := time.Unix(cur.IssuedAt+1, 0)
			select {
			case <-ctx.Done():
				return fmt.Errorf("tenantnats: push account %s: %w", ac.Name, ctx.Err())
			case <-time.After(time.Until(next)):
			}
			continue
		}
		return a.pushAll(ctx, ac, tok)
	}
}

// pushAll sends tok to every server's resolver and waits for their
// answers.
func (a *Accounts) pushAll(ctx context.Context, ac *jwt.AccountClaims, tok string) error {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	servers, err := a.servers(ctx)
	if err != nil {
		return fmt.Errorf("tenantnats: push account %s (%s): %w", ac.Name, ac.Subject, err)
	}
	answers, err := a.sys.SubscribeSync(a.sys.NewRespInbox())
	if err != nil {
		return fmt.Errorf("tenantnats: push account %s: %w", ac.Name, err)
	}
	defer answers.Unsubscribe()
	// The update is sent again while some server has not answered: on a
	// cluster just formed, a server's interest in the update subject can
	// reach the pusher's server after its route does. A server that gets
	// it twice keeps the one JWT (same id) and answers again.
	for sent := false; len(servers) > 0; {
		if !sent {
			if err := a.sys.PublishRequest("$SYS.REQ.CLAIMS.UPDATE", answers.Subject, []byte(tok)); err != nil {
				return fmt.Errorf("tenantnats: push account %s: %w", ac.Name, err)
			}
			sent = true
		}
		msg, err := nextWithin(ctx, answers, pushResend)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			sent = false
			continue
		}
		if err != nil {
			return fmt.Errorf("tenantnats: push account %s (%s): %d server(s) did not answer (%s): %w",
				ac.Name, ac.Subject, len(servers), strings.Join(slices.Sorted(maps.Keys(servers)), ", "), err)
		}
		var res claimUpdateResponse
		if err := json.Unmarshal(msg.Data, &res); err != nil {
			return fmt.Errorf("tenantnats: push account %s: answer %q: %w", ac.Name, msg.Data, err)
		}
		if res.Error != nil {
			return fmt.Errorf("tenantnats: push account %s: server %s: %s (code %d)", ac.Name, res.Server.Name, res.Error.Description, res.Error.Code)
		}
		delete(servers, res.Server.Name)
	}
	return nil
}

// servers are the names of the cluster's servers: those that answer a
// ping and those they have routes to (a server the pusher has no route to
// yet is among the latter).
func (a *Accounts) servers(ctx context.Context) (map[string]bool, error) {
	replies, err := a.sys.SubscribeSync(a.sys.NewRespInbox())
	if err != nil {
		return nil, err
	}
	defer replies.Unsubscribe()
	if err := a.sys.PublishRequest("$SYS.REQ.SERVER.PING.STATSZ", replies.Subject, nil); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for wait := a.Timeout; ; wait = serverPingQuiet {
		msg, err := nextWithin(ctx, replies, wait)
		if err != nil {
			if len(names) == 0 {
				return nil, fmt.Errorf("no server answered a ping: %w", err)
			}
			return names, nil
		}
		var st struct {
			Server struct{ Name string } `json:"server"`
			Statsz struct {
				Routes []struct{ Name string } `json:"routes"`
			} `json:"statsz"`
		}
		if json.Unmarshal(msg.Data, &st) != nil || st.Server.Name == "" {
			continue
		}
		names[st.Server.Name] = true
		for _, r := range st.Statsz.Routes {
			if r.Name != "" {
				names[r.Name] = true
			}
		}
	}
}

// pushResend is how long a push waits for the servers' answers before it
// sends the update again.
const pushResend = 500 * time.Millisecond

// serverPingQuiet ends a ping's collection: no further answer within it
// means every server that will answer has.
const serverPingQuiet = 150 * time.Millisecond

func nextWithin(ctx context.Context, sub *nats.Subscription, d time.Duration) (*nats.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return sub.NextMsgWithContext(ctx)
}

// lookup returns the account JWT a server holds for pub.
func (a *Accounts) lookup(ctx context.Context, pub string) (*jwt.AccountClaims, error) {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	msg, err := a.sys.RequestWithContext(ctx, "$SYS.REQ.ACCOUNT."+pub+".CLAIMS.LOOKUP", nil)
	if err != nil {
		return nil, err
	}
	if len(msg.Data) == 0 {
		return nil, errors.New("no such account")
	}
	return jwt.DecodeAccountClaims(string(msg.Data))
}

// sameClaims compares two account JWTs' content, not when or by which
// process they were issued.
func sameClaims(a, b *jwt.AccountClaims) bool {
	x, y := *a, *b
	x.IssuedAt, y.IssuedAt, x.ID, y.ID = 0, 0, "", ""
	xb, err1 := json.Marshal(x)
	yb, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && string(xb) == string(yb)
}
