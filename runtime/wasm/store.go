package wasm

import (
	"context"
	"fmt"
)

// Store keeps the deployments and their modules. FileStore keeps them in
// one process's data directory; JetStreamStore in JetStream (a KV bucket
// and an object store), shared by every engine process on a NATS cluster.
type Store interface {
	// Follow calls apply for every stored deployment, in order, and returns
	// once it has. A shared store then goes on calling apply, from its own
	// goroutine and one change at a time, for every later change any
	// process makes, until ctx ends.
	Follow(ctx context.Context, apply func(Change)) error
	// Module returns the module d runs. The caller checks it against d's
	// claims: a store holds what it was given, or what someone wrote there.
	Module(ctx context.Context, d Deployment) ([]byte, error)
	// Put stores module, then d (replacing a deployment of the same name),
	// and returns the change's revision (0 when the store is not shared).
	Put(ctx context.Context, d Deployment, module []byte) (uint64, error)
	// Delete removes deployment tenantID/name (ErrNotDeployed when there is
	// none) and returns the change's revision.
	Delete(ctx context.Context, tenantID, name string) (uint64, error)
	// DeleteTenant removes every deployment of tenantID.
	DeleteTenant(ctx context.Context, tenantID string) error
	// Prune deletes the modules no deployment references any more: those
	// of shas, or every unreferenced one when shas is empty.
	Prune(ctx context.Context, shas ...string) error
	// Shared says other processes change the store too: then Follow's apply
	// is the only way changes reach this process, the Manager's own
	// included, and the Manager waits for it (see Manager.Deploy).
	Shared() bool
}

// Change is one deployment as Follow sees it: put (Deployment set),
// deleted (Deleted), or a stored value that does not decode (Err: the
// deployment is left as it was). Rev orders a shared store's changes.
type Change struct {
	Tenant, Name string
	Deployment   Deployment
	Deleted      bool
	Err          error
	Rev          uint64
}

// checkStored verifies that a decoded deployment is the one its key names.
func checkStored(d Deployment, tenantID, name string) error {
	if d.Tenant != tenantID || d.Name != name {
		return fmt.Errorf("wasm: deployment %s/%s holds %q/%q", tenantID, name, d.Tenant, d.Name)
	}
	return CheckName(d.Name)
}
