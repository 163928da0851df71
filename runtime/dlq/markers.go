package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// MarkerBucket is the KV bucket of redrive markers: key <tenant>.<seq>,
// the Marker as JSON. It lives beside ER_DLQ in the engine's account, so
// every process sees every redrive.
const MarkerBucket = "ER_DLQ_REDRIVE"

// openMarkers creates the marker bucket or updates its replication; its
// entries expire after ttl, the dead letters' age limit.
func openMarkers(ctx context.Context, js jetstream.JetStream, rep bus.Replication, ttl time.Duration) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := bus.RetrySettling(ctx, func(ctx context.Context) (err error) {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      MarkerBucket,
			Description: "eventrunner: the outcome of each dead letter's last redrive (<tenant>.<ER_DLQ seq>)",
			History:     1,
			TTL:         ttl,
			Storage:     jetstream.FileStorage,
			Replicas:    rep.N(),
			Placement:   rep.Placement(),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dlq: KV bucket %s: %w", MarkerBucket, err)
	}
	return kv, nil
}

func markerKey(tenant string, seq uint64) string { return tenant + "." + strconv.FormatUint(seq, 10) }

// marker is the marker of dead letter seq of tenant; nil when it has none.
func (d *DLQ) marker(ctx context.Context, tenant string, seq uint64) (*Marker, error) {
	e, err := d.markers.Get(ctx, markerKey(tenant, seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dlq: marker %d: %w", seq, err)
	}
	var mk Marker
	if err := json.Unmarshal(e.Value(), &mk); err != nil {
		return nil, fmt.Errorf("dlq: marker %d: %w", seq, err)
	}
	return &mk, nil
}

// tenantMarkers reads every marker of tenant, by sequence.
func (d *DLQ) tenantMarkers(ctx context.Context, tenant string) (map[uint64]*Marker, error) {
	w, err := d.markers.WatchFiltered(ctx, []string{tenant + ".*"}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("dlq: markers: %w", err)
	}
	defer w.Stop()
	out := map[uint64]*Marker{}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("dlq: markers: watch ended early")
			}
			if e == nil { // the current state is complete
				return out, nil
			}
			seq, err := strconv.ParseUint(strings.TrimPrefix(e.Key(), tenant+"."), 10, 64)
			var mk Marker
			if err != nil || json.Unmarshal(e.Value(), &mk) != nil {
				continue // not a marker this version wrote
			}
			out[seq] = &mk
		case <-ctx.Done():
			return nil, fmt.Errorf("dlq: markers: %w", ctx.Err())
		}
	}
}

// mark records a redrive of dead letter seq: the outcome replaces the
// previous one, the count goes up. Concurrent redrives of one dead letter
// each count (compare-and-set on the entry's revision).
func (d *DLQ) mark(ctx context.Context, tenant string, seq uint64, mk Marker) (*Marker, error) {
	key := markerKey(tenant, seq)
	for attempt := 0; ; attempt++ {
		var rev uint64
		mk.Count = 1
		e, err := d.markers.Get(ctx, key)
		switch {
		case err == nil:
			var old Marker
			if json.Unmarshal(e.Value(), &old) == nil {
				mk.Count = old.Count + 1
			}
			rev = e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return nil, fmt.Errorf("dlq: marker %d: %w", seq, err)
		}
		b, _ := json.Marshal(mk)
		if rev == 0 {
			_, err = d.markers.Create(ctx, key, b)
		} else {
			_, err = d.markers.Update(ctx, key, b, rev)
		}
		if err == nil {
			return &mk, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) || attempt == 5 {
			return nil, fmt.Errorf("dlq: marker %d: %w", seq, err)
		}
	}
}

// unmark removes the marker of a purged dead letter.
func (d *DLQ) unmark(ctx context.Context, tenant string, seq uint64) error {
	if err := d.markers.Purge(ctx, markerKey(tenant, seq)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("dlq: marker %d: %w", seq, err)
	}
	return nil
}
