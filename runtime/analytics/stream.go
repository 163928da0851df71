package analytics

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// StreamName is the stream the Feeder consumes: every tenant's processed
// events, sourced from the tenant streams. It exists only when analytics is
// on, so the embedded default writes each processed event once (into its
// tenant's stream) and pays for the copy only when ClickHouse is fed.
const StreamName = "ER_ANALYTICS"

// StreamMaxAge is how long ER_ANALYTICS keeps events: a new feeder (a new
// ClickHouse) is backfilled with this much history.
const StreamMaxAge = 7 * 24 * time.Hour

// StreamConfig sources er.t.<tenant>.> from the stream of each tenant in
// tenantIDs (in a stable order, so that an unchanged list is no update).
func StreamConfig(tenantIDs []string) (jetstream.StreamConfig, error) {
	ids := slices.Sorted(slices.Values(tenantIDs))
	sources := make([]*jetstream.StreamSource, 0, len(ids))
	for _, id := range slices.Compact(ids) {
		filter, err := bus.TenantFilter(id)
		if err != nil {
			return jetstream.StreamConfig{}, fmt.Errorf("analytics: stream: %w", err)
		}
		sources = append(sources, &jetstream.StreamSource{Name: tenantnats.StreamName(id), FilterSubject: filter})
	}
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "eventrunner: every tenant's processed events, for the ClickHouse feeder",
		Sources:     sources,
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      StreamMaxAge,
		Discard:     jetstream.DiscardOld,
	}, nil
}

// EnsureStream creates ER_ANALYTICS or updates its sources to the tenants
// in tenantIDs, whose streams must exist. Call it when a tenant is added
// (its history is copied from the start of its stream) and before a tenant
// stream is deleted.
func EnsureStream(ctx context.Context, js jetstream.JetStream, tenantIDs []string) error {
	cfg, err := StreamConfig(tenantIDs)
	if err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("analytics: ensure stream %s: %w", StreamName, err)
	}
	return nil
}
