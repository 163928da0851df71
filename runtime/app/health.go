package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// readyTimeout bounds one readiness probe: a stream that does not answer
// within it counts as down.
const readyTimeout = 2 * time.Second

// readyz answers 200 when this process can take events and store what it
// takes: started, not shutting down, connected to NATS, and every stream it
// writes to (the shared ones, and the tenants' with the engine or wasm
// role) has a leader. Otherwise 503
// with the reason per check, so a load balancer stops sending it events
// until NATS recovers, which it notices by itself at the next probe.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ready := a.ready
	a.mu.Unlock()
	checks := map[string]string{"started": "ok", "nats": "ok"}
	status := http.StatusOK
	fail := func(check, reason string) {
		checks[check], status = reason, http.StatusServiceUnavailable
	}
	if !ready {
		fail("started", "no")
	}
	if !a.nc.IsConnected() {
		fail("nats", a.nc.Status().String())
		writeJSON(w, status, checks) // every stream check would only time out
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	for stream, err := range a.streamLeaders(ctx) {
		switch {
		case err != nil:
			fail("stream "+stream, err.Error())
		case !strings.HasPrefix(stream, "tenant "): // tenants' are listed only when failing
			checks["stream "+stream] = "ok"
		}
	}
	writeJSON(w, status, checks)
}

// streamLeaders asks, concurrently, for the leader of every stream this
// process writes to and returns the errors by stream name (nil = has one).
func (a *App) streamLeaders(ctx context.Context) map[string]error {
	type probe struct {
		name   string
		leader func(context.Context) (string, error)
	}
	var probes []probe
	for _, name := range bus.SharedStreams() {
		probes = append(probes, probe{name, func(ctx context.Context) (string, error) { return bus.StreamLeader(ctx, a.js, name) }})
	}
	if a.tn.streams != nil && (a.cfg.Roles.Has(RoleEngine) || a.cfg.Roles.Has(RoleWASM)) {
		for _, t := range a.tenants.List() {
			probes = append(probes, probe{"tenant " + t.ID, func(ctx context.Context) (string, error) { return a.tn.streams.Leader(ctx, t.ID) }})
		}
	}
	var mu sync.Mutex
	out := make(map[string]error, len(probes))
	sem := make(chan struct{}, 16) // a probe must not flood the JetStream API with many tenants
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := p.leader(ctx)
			mu.Lock()
			out[p.name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
