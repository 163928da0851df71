package tenantnats_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// follower is one engine process's view of the shared registry: a registry
// kept up to date by Follow, as runtime/app does.
type follower struct {
	kv  *tenantnats.KVStore
	reg *tenant.Registry
	mu  sync.Mutex
	log []tenantnats.Change
}

func follow(t *testing.T, env *bustest.Env) *follower {
	t.Helper()
	_, js := env.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	kv, err := tenantnats.OpenKVStore(ctx, js, bus.Replication{})
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{kv: kv, reg: tenant.NewRegistry()}
	ts, err := kv.Follow(ctx, func(c tenantnats.Change) {
		f.mu.Lock()
		f.log = append(f.log, c)
		f.mu.Unlock()
		switch {
		case c.Err != nil:
		case c.Deleted:
			f.reg.Remove(c.ID)
		default:
			_ = f.reg.Add(c.Tenant)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Replace(ts); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *follower) manager() *tenant.Manager {
	return &tenant.Manager{Store: f.kv, Shared: true, Registry: f.reg}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSharedRegistry: a tenant created, rotated and deleted through one
// process is seen by another, and by the first as soon as the call returns.
func TestSharedRegistry(t *testing.T) {
	env := bustest.Start(t)
	a, b := follow(t, env), follow(t, env)
	m := a.manager()

	s, err := m.Create(tenant.Tenant{ID: "acme", RatePerSec: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.reg.Authenticate(s.APIKey); err != nil {
		t.Fatalf("creating node: %v right after Create", err)
	}
	waitFor(t, "the other node to learn acme", func() bool { _, err := b.reg.Authenticate(s.APIKey); return err == nil })
	if _, err := m.Create(tenant.Tenant{ID: "acme"}); err == nil {
		t.Fatal("second Create of acme succeeded")
	}

	rot, err := b.manager().RotateKey("acme", false)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotation to reach the first node", func() bool {
		_, errNew := a.reg.Authenticate(rot.APIKey)
		_, errOld := a.reg.Authenticate(s.APIKey)
		return errNew == nil && errOld != nil
	})
	if got, _ := a.reg.Get("acme"); got.RatePerSec != 10 {
		t.Errorf("rotation lost the limits: %+v", got)
	}

	// A process started now sees the current state.
	c := follow(t, env)
	if _, err := c.reg.Authenticate(rot.APIKey); err != nil {
		t.Fatalf("late follower: %v", err)
	}

	if err := m.Delete("acme"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.reg.Get("acme"); ok {
		t.Fatal("deleting node still has acme after Delete returned")
	}
	waitFor(t, "the deletion to reach the other nodes", func() bool {
		_, okB := b.reg.Get("acme")
		_, okC := c.reg.Get("acme")
		return !okB && !okC
	})
	if err := m.Delete("acme"); err == nil {
		t.Fatal("deleting a deleted tenant succeeded")
	}
}

// TestSharedRegistryConcurrentRotations: key rotations racing on two
// processes all survive (compare-and-set, no lost update).
func TestSharedRegistryConcurrentRotations(t *testing.T) {
	env := bustest.Start(t)
	a, b := follow(t, env), follow(t, env)
	if _, err := a.manager().Create(tenant.Tenant{ID: "race"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to learn the tenant", func() bool { _, ok := b.reg.Get("race"); return ok })
	const perNode = 10
	var wg sync.WaitGroup
	keys := make(chan string, 2*perNode)
	for _, f := range []*follower{a, b} {
		m := f.manager()
		wg.Go(func() {
			for range perNode {
				s, err := m.RotateKey("race", true)
				if err != nil {
					t.Error(err)
					return
				}
				keys <- s.APIKey
			}
		})
	}
	wg.Wait()
	close(keys)
	waitFor(t, "every rotation on both nodes", func() bool {
		for _, f := range []*follower{a, b} {
			got, _ := f.reg.Get("race")
			if len(got.KeyHashes) != 2*perNode+1 {
				return false
			}
		}
		return true
	})
	got, _ := a.reg.Get("race")
	for k := range keys {
		if !slices.Contains(got.KeyHashes, tenant.HashKey(k)) {
			t.Errorf("a rotation's key was lost: %d hashes", len(got.KeyHashes))
		}
	}
}

// TestSharedRegistryBadValue: a value that does not decode (written by hand
// with natscli, say) is reported and leaves the tenant as it was.
func TestSharedRegistryBadValue(t *testing.T) {
	env := bustest.Start(t)
	a := follow(t, env)
	if _, err := a.manager().Create(tenant.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, js := env.Connect(t)
	kv, err := js.KeyValue(context.Background(), tenantnats.RegistryBucket)
	if err != nil {
		t.Fatal(err)
	}
	for i, bad := range []string{`{"id":"acme","key_hashes":["zz"]}`, `not json`, `{"id":"other"}`} {
		if _, err := kv.PutString(context.Background(), "acme", bad); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("bad value %d reported", i), func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			n := 0
			for _, c := range a.log {
				if c.Err != nil {
					n++
				}
			}
			return n == i+1
		})
	}
	if _, ok := a.reg.Get("acme"); !ok {
		t.Fatal("a bad value removed the tenant")
	}
}
