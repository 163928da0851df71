package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// FollowKV reads the current state of kv and then its later changes from
// one watcher, which leaves no gap between them. current is called for
// every entry of the current state, in FollowKV's goroutine (its error
// stops the watch and is returned); later for every later entry, in order,
// from a goroutine of its own until ctx ends.
func FollowKV(ctx context.Context, kv jetstream.KeyValue, current func(jetstream.KeyValueEntry) error, later func(jetstream.KeyValueEntry)) error {
	w, err := watchAll(ctx, kv)
	if err != nil {
		return fmt.Errorf("bus: watch %s: %w", kv.Bucket(), err)
	}
	for e := range w.Updates() {
		if e == nil { // the current state is complete
			go followKV(ctx, w, later)
			return nil
		}
		if err := current(e); err != nil {
			w.Stop()
			return err
		}
	}
	return fmt.Errorf("bus: watch %s ended before its current state was read", kv.Bucket())
}

// watchSettling bounds how long watchAll retries while a cluster settles.
const watchSettling = 30 * time.Second

// watchAll starts a watcher of kv, which lives as long as ctx, trying
// again while the cluster settles (a brand-new bucket not served yet, its
// consumer's creation timed out on a busy or electing cluster), as
// RetrySettling does for one-shot calls: RetrySettling's per-attempt
// context would end the watcher with the attempt.
func watchAll(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyWatcher, error) {
	deadline := time.Now().Add(watchSettling)
	for {
		w, err := kv.WatchAll(ctx)
		if err == nil || !settling(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func followKV(ctx context.Context, w jetstream.KeyWatcher, later func(jetstream.KeyValueEntry)) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			later(e)
		}
	}
}

// ErrProgressClosed is Progress.Wait's error once the follower stopped.
var ErrProgressClosed = errors.New("bus: stopped following")

// Progress is how far a process has applied a followed KV bucket, so that
// whoever changed the bucket through this process can wait until the
// change is in force here. The zero value is ready to use.
type Progress struct {
	mu      sync.Mutex
	applied uint64        // revision of the last change applied
	moved   chan struct{} // closed and replaced when applied moves or on Close
	closed  bool
}

// Set records that revision rev (and so every earlier one) is applied.
func (p *Progress) Set(rev uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rev > p.applied {
		p.applied = rev
		p.wake()
	}
}

// Close wakes every Wait with ErrProgressClosed.
func (p *Progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.wake()
}

func (p *Progress) wake() {
	if p.moved != nil {
		close(p.moved)
	}
	p.moved = make(chan struct{})
}

// Wait returns once revision rev is applied, or with an error naming how
// far this process got when ctx ends or the follower stops first.
func (p *Progress) Wait(ctx context.Context, rev uint64) error {
	for {
		p.mu.Lock()
		if p.moved == nil {
			p.moved = make(chan struct{})
		}
		applied, moved, closed := p.applied, p.moved, p.closed
		p.mu.Unlock()
		switch {
		case applied >= rev:
			return nil
		case closed:
			return fmt.Errorf("revision %d not applied: %w", rev, ErrProgressClosed)
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("revision %d not applied on this process yet (at %d): %w", rev, applied, ctx.Err())
		}
	}
}
