package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role is one part of the pipeline a process runs. Every role is stateless
// apart from what lives in NATS and the store, so a deployment scales each
// on its own: ingest nodes at the edge, engine nodes where the store is.
type Role string

// The roles (serve --roles); a process runs all of them by default.
const (
	// RoleIngest takes events over HTTP and gRPC (normalises and validates
	// them, then publishes to ER_PROC).
	RoleIngest Role = "ingest"
	// RoleRunner turns raw NATS events (er.raw.<tenant>, ER_RAW) into
	// normalised ones.
	RoleRunner Role = "runner"
	// RoleEngine runs the rules, stores processed events and publishes them
	// to the tenant streams; it also forwards dead letters to the tenants.
	RoleEngine Role = "engine"
	// RoleWASM runs the tenants' WASM consumers.
	RoleWASM Role = "wasm"
	// RoleAnalytics feeds ClickHouse (with --clickhouse-dsn) and serves
	// GET /v1/stats/counts.
	RoleAnalytics Role = "analytics"
	// RoleQuery serves GET /v1/events from the store.
	RoleQuery Role = "query"
)

// AllRoles is every role, in pipeline order.
var AllRoles = []Role{RoleIngest, RoleRunner, RoleEngine, RoleWASM, RoleAnalytics, RoleQuery}

// Roles is a set of roles; empty means all.
type Roles []Role

// ParseRoles reads "ingest,engine"; an empty string or "all" is every role.
func ParseRoles(s string) (Roles, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil, nil
	}
	var rs Roles
	for _, part := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(part))
		if !slices.Contains(AllRoles, r) {
			return nil, fmt.Errorf("roles: unknown role %q (want a comma-separated list of %s)", r, AllRoles)
		}
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// Has reports whether r is in the set.
func (rs Roles) Has(r Role) bool { return len(rs) == 0 || slices.Contains(rs, r) }

// String lists the roles, "all" for every one.
func (rs Roles) String() string {
	if len(rs) == 0 {
		return "all"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// needsStore reports whether a process with these roles opens the store:
// the engine writes it, the query API reads it.
func (rs Roles) needsStore() bool { return rs.Has(RoleEngine) || rs.Has(RoleQuery) }

// forRole runs step only when the process has role r.
func (a *App) forRole(r Role, step func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if !a.cfg.Roles.Has(r) {
			return nil
		}
		return step(ctx)
	}
}

// warnLocalStore says what a local store cannot share: with several
// processes on one external NATS, each embedded Pebble store holds only
// what its own engine stored. It fires for every role that opens the store,
// not only the query role: an engine-only process storing into its own
// Pebble loses those events to every query API (none reads its disk), which
// is the same mistake seen from the writing side.
func (a *App) warnLocalStore() {
	if !a.cfg.NATS.External() || a.cfg.Cassandra.Hosts != "" || !a.cfg.Roles.needsStore() {
		return
	}
	why := "the query API reads this process's embedded Pebble store, which holds only the events this process's engine stored"
	if !a.cfg.Roles.Has(RoleQuery) {
		why = "the engine stores into this process's embedded Pebble store, which no other process's query API reads"
	}
	a.log.Warn(why+"; with several engine processes on one NATS, use a shared store (--cassandra-hosts)", "roles", a.cfg.Roles.String())
}
