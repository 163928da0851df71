package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// The JetStream store's buckets, in the engine's account (no tenant
// account imports them).
const (
	// ModulesBucket is the object store of modules, each named by its
	// SHA-256 (hex), which the signed claims name.
	ModulesBucket = "ER_WASM_MODULES"
	// DeploymentsBucket is the KV bucket of deployments: key
	// <tenant>.<name>, the Deployment as JSON.
	DeploymentsBucket = "ER_WASM_DEPLOYMENTS"
)

// storeTimeout bounds one store operation that has no deadline of its own.
const storeTimeout = 30 * time.Second

// JetStreamStore keeps the deployments in a KV bucket and their modules in
// an object store, so that every engine process on a NATS cluster runs
// every deployment: each follows the KV bucket (Follow) and fetches the
// modules it is told to run.
type JetStreamStore struct {
	kv  jetstream.KeyValue
	obs jetstream.ObjectStore
}

var _ Store = (*JetStreamStore)(nil)

// OpenJetStreamStore creates the two buckets, or updates their
// replication, in js's account.
func OpenJetStreamStore(ctx context.Context, js jetstream.JetStream, rep bus.Replication) (*JetStreamStore, error) {
	var obs jetstream.ObjectStore
	err := bus.RetrySettling(ctx, func(ctx context.Context) (err error) {
		obs, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      ModulesBucket,
			Description: "eventrunner: tenants' WASM modules, by SHA-256",
			Storage:     jetstream.FileStorage,
			Replicas:    rep.N(),
			Placement:   rep.Placement(),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wasm: object store %s: %w", ModulesBucket, err)
	}
	var kv jetstream.KeyValue
	err = bus.RetrySettling(ctx, func(ctx context.Context) (err error) {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      DeploymentsBucket,
			Description: "eventrunner: tenants' WASM deployments (<tenant>.<name>), run by every engine process",
			History:     5,
			Storage:     jetstream.FileStorage,
			Replicas:    rep.N(),
			Placement:   rep.Placement(),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wasm: KV bucket %s: %w", DeploymentsBucket, err)
	}
	return &JetStreamStore{kv: kv, obs: obs}, nil
}

// Shared is true: every engine process on the cluster writes the buckets.
func (s *JetStreamStore) Shared() bool { return true }

func kvKey(tenantID, name string) string { return tenantID + "." + name }

// Follow reads the current deployments and the later changes from one
// watcher, which leaves no gap between them.
func (s *JetStreamStore) Follow(ctx context.Context, apply func(Change)) error {
	current := func(e jetstream.KeyValueEntry) error { apply(change(e)); return nil }
	later := func(e jetstream.KeyValueEntry) { apply(change(e)) }
	if err := bus.FollowKV(ctx, s.kv, current, later); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	return nil
}

func change(e jetstream.KeyValueEntry) Change {
	tenantID, name, _ := strings.Cut(e.Key(), ".")
	c := Change{Tenant: tenantID, Name: name, Rev: e.Revision(), Deleted: e.Operation() != jetstream.KeyValuePut}
	if c.Deleted {
		return c
	}
	if err := json.Unmarshal(e.Value(), &c.Deployment); err != nil {
		c.Err = fmt.Errorf("wasm: %s %s (revision %d): %w", DeploymentsBucket, e.Key(), e.Revision(), err)
	} else if err := checkStored(c.Deployment, tenantID, name); err != nil {
		c.Err = fmt.Errorf("%s %s (revision %d): %w", DeploymentsBucket, e.Key(), e.Revision(), err)
	}
	return c
}

// moduleRetry bounds how long Module waits for a module that is briefly
// missing: Prune deleted it while a deploy of the same module was under
// way, and one of them puts it back (see Put and Prune).
var moduleRetry = []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, time.Second}

// Module fetches d's module by the SHA-256 its claims name.
func (s *JetStreamStore) Module(ctx context.Context, d Deployment) ([]byte, error) {
	sha := d.Claims.ModuleSHA256
	for i := 0; ; i++ {
		b, err := s.obs.GetBytes(ctx, sha)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, jetstream.ErrObjectNotFound) || i == len(moduleRetry) {
			return nil, fmt.Errorf("wasm: module %s of %s/%s: %w", sha, d.Tenant, d.Name, err)
		}
		select {
		case <-time.After(moduleRetry[i]):
		case <-ctx.Done():
			return nil, fmt.Errorf("wasm: module %s of %s/%s: %w", sha, d.Tenant, d.Name, ctx.Err())
		}
	}
}

// Put stores the module unless it is there already, then the deployment,
// then checks the module again: a Prune that ran in between, seeing no
// deployment of it yet, may have deleted it.
func (s *JetStreamStore) Put(ctx context.Context, d Deployment, module []byte) (uint64, error) {
	if err := s.ensureModule(ctx, d.Claims.ModuleSHA256, module); err != nil {
		return 0, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return 0, fmt.Errorf("wasm: %s/%s: %w", d.Tenant, d.Name, err)
	}
	rev, err := s.kv.Put(ctx, kvKey(d.Tenant, d.Name), b)
	if err != nil {
		return 0, fmt.Errorf("wasm: store %s/%s: %w", d.Tenant, d.Name, err)
	}
	return rev, s.ensureModule(ctx, d.Claims.ModuleSHA256, module)
}

// ensureModule puts module under its SHA-256 unless an object with that
// content is there (one whose content differs is replaced).
func (s *JetStreamStore) ensureModule(ctx context.Context, sha string, module []byte) error {
	info, err := s.obs.GetInfo(ctx, sha)
	if err == nil && info.Digest == objectDigest(module) {
		return nil
	}
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("wasm: module %s: %w", sha, err)
	}
	if _, err := s.obs.PutBytes(ctx, sha, module); err != nil {
		return fmt.Errorf("wasm: store module %s: %w", sha, err)
	}
	return nil
}

// objectDigest is the object store's digest of b.
func objectDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
}

// Delete deletes the deployment's key.
func (s *JetStreamStore) Delete(ctx context.Context, tenantID, name string) (uint64, error) {
	if _, err := s.kv.Get(ctx, kvKey(tenantID, name)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	} else if err != nil {
		return 0, fmt.Errorf("wasm: remove %s/%s: %w", tenantID, name, err)
	}
	if err := s.kv.Delete(ctx, kvKey(tenantID, name)); err != nil {
		return 0, fmt.Errorf("wasm: remove %s/%s: %w", tenantID, name, err)
	}
	// Delete does not say its revision; the bucket's last is at least it.
	st, err := s.kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("wasm: remove %s/%s: %w", tenantID, name, err)
	}
	return st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq, nil
}

// DeleteTenant deletes the tenant's keys. Every process runs it when a
// tenant is deleted (the registry's change reaches each), so it deletes
// only the keys still there.
func (s *JetStreamStore) DeleteTenant(ctx context.Context, tenantID string) error {
	if err := bus.CheckTenant(tenantID); err != nil {
		return err
	}
	lister, err := s.kv.ListKeysFiltered(ctx, tenantID+".>")
	if err != nil {
		return fmt.Errorf("wasm: tenant %s: list deployments: %w", tenantID, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var errs []error
	for _, k := range keys {
		if err := s.kv.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("wasm: tenant %s: delete %s: %w", tenantID, k, err))
		}
	}
	return errors.Join(errs...)
}

// referenced is the set of modules the stored deployments name.
func (s *JetStreamStore) referenced(ctx context.Context) (map[string]bool, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("wasm: list deployments: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	refs := map[string]bool{}
	for _, k := range keys {
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted since listed
		}
		if err != nil {
			return nil, fmt.Errorf("wasm: get deployment %s: %w", k, err)
		}
		var d Deployment
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			// Keep what an undecodable deployment may still need.
			return nil, fmt.Errorf("wasm: %s %s: %w", DeploymentsBucket, k, err)
		}
		refs[d.Claims.ModuleSHA256] = true
	}
	return refs, nil
}

// Prune deletes unreferenced modules. A deploy of the same module may run
// meanwhile on another process: it put the module (or found it) before
// storing its deployment, which Prune did not see yet. So Prune reads the
// module before deleting it and looks at the deployments again after: if
// one names it now, it puts the module back; and the deploy checks the
// module again after storing (Put). Between the two, a process fetching
// the module waits a little for it (Module).
func (s *JetStreamStore) Prune(ctx context.Context, shas ...string) error {
	refs, err := s.referenced(ctx)
	if err != nil {
		return err
	}
	if len(shas) == 0 {
		infos, err := s.obs.List(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
			return fmt.Errorf("wasm: list modules: %w", err)
		}
		for _, info := range infos {
			shas = append(shas, info.Name)
		}
	}
	var unused []string
	for _, sha := range shas {
		if !refs[sha] {
			unused = append(unused, sha)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	held := map[string][]byte{}
	for _, sha := range unused {
		b, err := s.obs.GetBytes(ctx, sha)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wasm: prune module %s: %w", sha, err)
		}
		if err := s.obs.Delete(ctx, sha); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("wasm: prune module %s: %w", sha, err)
		}
		held[sha] = b
	}
	if refs, err = s.referenced(ctx); err != nil {
		return err
	}
	for sha, b := range held {
		if refs[sha] {
			if err := s.ensureModule(ctx, sha, b); err != nil {
				return err
			}
		}
	}
	return nil
}
