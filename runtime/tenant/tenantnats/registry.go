package tenantnats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// RegistryBucket is the KV bucket of the tenant registry on an external
// NATS: one key per tenant id, the tenant (key digests and limits) as JSON.
// It lives in the engine's account, out of every tenant's reach.
const RegistryBucket = "ER_TENANTS"

// kvTimeout bounds one registry operation; applyTimeout the wait for this
// process to have applied it.
const (
	kvTimeout    = 10 * time.Second
	applyTimeout = 60 * time.Second
)

// KVStore is the tenant registry every engine process shares: the admin API
// of any node writes it, and every node watches it (Watch), so a tenant
// created, rotated or deleted anywhere takes effect everywhere.
type KVStore struct {
	kv jetstream.KeyValue

	mu       sync.Mutex
	followed bool // Follow runs: changes wait until it applied them
	progress bus.Progress
}

// OpenKVStore creates the registry bucket or updates its replication.
func OpenKVStore(ctx context.Context, js jetstream.JetStream, rep bus.Replication) (*KVStore, error) {
	var kv jetstream.KeyValue
	err := bus.RetrySettling(ctx, func(ctx context.Context) (err error) {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      RegistryBucket,
			Description: "eventrunner: the tenant registry (key digests and limits), shared by every engine process",
			History:     5,
			Storage:     jetstream.FileStorage,
			Replicas:    rep.N(),
			Placement:   rep.Placement(),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant registry %s: %w", RegistryBucket, err)
	}
	return &KVStore{kv: kv}, nil
}

// Load returns every tenant in the bucket.
func (s *KVStore) Load() ([]tenant.Tenant, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenant registry: list: %w", err)
	}
	var out []tenant.Tenant
	for id := range lister.Keys() {
		e, err := s.get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted since listed
		}
		if err != nil {
			return nil, fmt.Errorf("tenant registry: get %s: %w", id, err)
		}
		t, err := decodeTenant(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// get reads tenant id's entry. Right after the bucket is created on a
// cluster its replicas may not serve reads yet (no responders): retry until
// they do or ctx ends.
func (s *KVStore) get(ctx context.Context, id string) (e jetstream.KeyValueEntry, err error) {
	err = bus.RetrySettling(ctx, func(ctx context.Context) error { e, err = s.kv.Get(ctx, id); return err })
	return e, err
}

// casRetries bounds how often Modify retries when another process changed
// the same tenant between its read and its write; each retry first waits a
// random while that grows with the attempts, so that writers racing in
// step fall out of it.
const casRetries = 50

// Modify is a compare-and-set on the tenant's key: two nodes rotating the
// same tenant's key at once both succeed, one after the other, so neither
// hands out a key the other silently dropped.
func (s *KVStore) Modify(id string, change func(old tenant.Tenant, ok bool) (tenant.Tenant, error)) (tenant.Tenant, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	for attempt := range casRetries {
		var old tenant.Tenant
		var rev uint64
		e, err := s.get(ctx, id)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return tenant.Tenant{}, fmt.Errorf("tenant registry: get %s: %w", id, err)
		default:
			if old, err = decodeTenant(e); err != nil {
				return tenant.Tenant{}, err
			}
			rev = e.Revision()
		}
		t, err := change(old, rev != 0)
		if err != nil {
			return tenant.Tenant{}, err
		}
		b, err := json.Marshal(t)
		if err != nil {
			return tenant.Tenant{}, fmt.Errorf("tenant registry: %s: %w", id, err)
		}
		// A write whose PubAck is lost (the bucket's stream was just scaled
		// to a new raft group by a changed --nats-replicas) is tried again:
		// the compare-and-set makes a repeat of one that was stored fail as
		// changed, and the loop reads it back.
		var put uint64
		err = bus.RetrySettling(ctx, func(ctx context.Context) (err error) {
			if rev == 0 {
				put, err = s.kv.Create(ctx, id, b) // also succeeds over a deletion marker
			} else {
				put, err = s.kv.Update(ctx, id, b, rev)
			}
			return err
		})
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err) {
			// changed under us: read again, after a jittered pause
			time.Sleep(rand.N(time.Duration(min(attempt+1, 20)) * time.Millisecond))
			continue
		}
		if err != nil {
			return tenant.Tenant{}, fmt.Errorf("tenant registry: put %s: %w", id, err)
		}
		return t, s.waitApplied(id, put)
	}
	return tenant.Tenant{}, fmt.Errorf("tenant registry: %s: changed concurrently %d times, giving up", id, casRetries)
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Delete removes tenant id.
func (s *KVStore) Delete(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	if _, err := s.get(ctx, id); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("tenant %s: %w", id, tenant.ErrNotFound)
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("tenant registry: delete %s: %w", id, err)
	}
	st, err := s.kv.Status(ctx) // Delete does not say its revision; the bucket's last is at least it
	if err != nil {
		return fmt.Errorf("tenant registry: delete %s: %w", id, err)
	}
	return s.waitApplied(id, st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq)
}

// waitApplied returns once Follow has applied revision rev on this process,
// so that whoever changed a tenant through this node can use the change
// here at once (other nodes follow within their watch latency).
func (s *KVStore) waitApplied(id string, rev uint64) error {
	s.mu.Lock()
	followed := s.followed
	s.mu.Unlock()
	if !followed {
		return nil
	}
	// Applying runs the hooks (accounts pushed to the cluster, streams), which
	// may take several seconds on a cluster electing leaders.
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	if err := s.progress.Wait(ctx, rev); err != nil {
		return fmt.Errorf("tenant registry: %s: stored but %w", id, err)
	}
	return nil
}

// Change is one update seen by Watch: a tenant put (Tenant set), deleted
// (Deleted), or a value that does not decode (Err: the caller logs it and
// keeps the tenant as it was).
type Change struct {
	ID      string
	Tenant  tenant.Tenant
	Deleted bool
	Err     error
}

// Follow returns the registry as it is now and then, until ctx ends, calls
// apply for every later change, in order, from its own goroutine.
func (s *KVStore) Follow(ctx context.Context, apply func(Change)) ([]tenant.Tenant, error) {
	var now []tenant.Tenant
	current := func(e jetstream.KeyValueEntry) error {
		s.progress.Set(e.Revision())
		if e.Operation() != jetstream.KeyValuePut {
			return nil
		}
		t, err := decodeTenant(e)
		now = append(now, t)
		return err
	}
	later := func(e jetstream.KeyValueEntry) {
		c := Change{ID: e.Key(), Deleted: e.Operation() != jetstream.KeyValuePut}
		if !c.Deleted {
			c.Tenant, c.Err = decodeTenant(e)
		}
		apply(c)
		s.progress.Set(e.Revision())
	}
	s.mu.Lock()
	s.followed = true // before the watch: a change made once Follow returned must wait for it
	s.mu.Unlock()
	if err := bus.FollowKV(ctx, s.kv, current, later); err != nil {
		return nil, fmt.Errorf("tenant registry: %w", err)
	}
	return now, nil
}

func decodeTenant(e jetstream.KeyValueEntry) (tenant.Tenant, error) {
	var t tenant.Tenant
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant registry: %s (revision %d): %w", e.Key(), e.Revision(), err)
	}
	if t.ID != e.Key() {
		return tenant.Tenant{}, fmt.Errorf("tenant registry: key %s holds tenant %q", e.Key(), t.ID)
	}
	return t, t.Check()
}
