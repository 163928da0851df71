package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestSettling(t *testing.T) {
	api := func(code jetstream.ErrorCode, desc string) error {
		return fmt.Errorf("stream: %w", &jetstream.APIError{Code: 400, ErrorCode: code, Description: desc})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"no responders", nats.ErrNoResponders, true},
		{"deadline", context.DeadlineExceeded, true},
		{"election", api(10008, "JetStream system temporarily unavailable"), true},
		{"peer rejoining", api(10005, "no suitable peers for placement, peer offline"), true},
		{"scale converging", api(10226, "stream reconfiguration already in progress"), true},
		{"move converging", api(10124, "stream move already in progress"), true},
		{"store not ready on a new cluster", api(10049, "error creating store for stream"), true},
		{"move and scale", api(10123, "can not move and scale a stream in a single update"), false},
		{"too few servers", api(10005, "insufficient resources"), false},
		{"bad config", api(10052, "stream configuration for replicas invalid"), false},
		{"other", errors.New("boom"), false},
	} {
		if got := settling(tc.err); got != tc.want {
			t.Errorf("%s: settling(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
