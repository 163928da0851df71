package tenantnats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// DefaultRetention is how long a tenant stream keeps events when the tenant
// names no retention.
const DefaultRetention = 7 * 24 * time.Hour

// StreamName is the tenant's stream, ER_T_<tenant>.
func StreamName(tenantID string) string { return "ER_T_" + tenantID }

// OutSubject is er.out.<tenant>.<consumer>, where a WASM consumer's
// emitted events go (stored in the tenant's stream).
func OutSubject(tenantID, consumer string) string {
	return "er.out." + tenantID + "." + consumer
}

// OutFilter selects every output of a tenant's consumers.
func OutFilter(tenantID string) string { return "er.out." + tenantID + ".>" }

// StreamConfig is the tenant's stream, with the tenant's limits: the engine
// publishes its processed events to it directly (er.t.<tenant>.<type>), as
// do its WASM consumers their outputs (er.out.<tenant>.>); its rejected
// events are sourced from ER_DLQ (er.dlq.<tenant>, the reason in headers).
func StreamConfig(t tenant.Tenant) jetstream.StreamConfig {
	age := time.Duration(t.Retention)
	if age <= 0 {
		age = DefaultRetention
	}
	maxBytes := t.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	filter, _ := bus.TenantFilter(t.ID)
	return jetstream.StreamConfig{
		Name:        StreamName(t.ID),
		Description: "eventrunner: tenant " + t.ID + "'s processed events and WASM outputs",
		Subjects:    []string{filter, OutFilter(t.ID)},
		Sources: []*jetstream.StreamSource{
			{Name: bus.StreamDLQ, FilterSubject: bus.DLQSubject(t.ID)},
		},
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		MaxAge:     age,
		MaxBytes:   maxBytes,
		Discard:    jetstream.DiscardOld,
		Duplicates: 2 * time.Minute,
	}
}

// EnsureStream creates the tenant's stream or updates its limits.
func EnsureStream(ctx context.Context, js jetstream.JetStream, t tenant.Tenant) error {
	if _, err := js.CreateOrUpdateStream(ctx, StreamConfig(t)); err != nil {
		return fmt.Errorf("tenant %s: stream: %w", t.ID, err)
	}
	return nil
}

// DeleteStream removes the tenant's stream; a missing one is not an error.
func DeleteStream(ctx context.Context, js jetstream.JetStream, tenantID string) error {
	err := js.DeleteStream(ctx, StreamName(tenantID))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("tenant %s: delete stream: %w", tenantID, err)
	}
	return nil
}
