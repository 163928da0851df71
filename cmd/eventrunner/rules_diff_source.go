package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/store"
)

// diffSource yields the events `rules diff` replays.
type diffSource interface {
	// Name says where the events come from, for the report.
	Name() string
	// Each calls fn for every event in the source (at most limit when it
	// is positive), in the source's order.
	Each(ctx context.Context, limit int, fn func(*cloudevents.Event)) error
	// NotReplayed counts the events Each skipped because they cannot be
	// replayed (records stored without the data as it arrived).
	NotReplayed() int
	Close() error
}

// openDiffSource opens --events when given, else the store serve's flags
// name (Cassandra with --cassandra-hosts, else Pebble under --store-dir).
func openDiffSource(ctx context.Context, cmd *cobra.Command, o *diffFlags, win window) (diffSource, error) {
	for _, t := range o.tenants {
		if !store.ValidTenant(t) {
			return nil, fmt.Errorf("--tenant %q: a tenant id matches [a-z0-9][a-z0-9_-]{0,62}", t)
		}
	}
	if len(o.events) > 0 {
		if cmd.Flags().Changed("store-dir") || o.cfg.Cassandra.Hosts != "" {
			return nil, errors.New("--events replays files: drop --store-dir and --cassandra-hosts")
		}
		return &fileSource{paths: o.events, tenants: o.tenants, win: win}, nil
	}
	if len(o.tenants) == 0 {
		return nil, errors.New("--tenant: name the tenants whose stored events to replay (or replay files with --events)")
	}
	c := o.cfg.Cassandra
	name, flag := "the Cassandra store at "+c.Hosts, "--cassandra-hosts"
	if c.Hosts == "" {
		if _, err := os.Stat(o.storeDir); err != nil {
			return nil, fmt.Errorf("--store-dir: %w", err)
		}
		name, flag = "the Pebble store in "+o.storeDir, "--store-dir"
	}
	s, err := app.OpenStore(ctx, c, o.storeDir, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &storeSource{s: s, name: name, tenants: o.tenants, win: win}, nil
}

// fileSource reads structured-mode CloudEvents from files, keeping those of
// the tenants (all when none) and in the time window.
type fileSource struct {
	paths   []string
	tenants []string
	win     window
}

func (f *fileSource) Name() string { return strings.Join(f.paths, ", ") }

func (f *fileSource) Close() error { return nil }

func (f *fileSource) NotReplayed() int { return 0 }

func (f *fileSource) Each(ctx context.Context, limit int, fn func(*cloudevents.Event)) error {
	n := 0
	for _, p := range f.paths {
		r, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("--events: %w", err)
		}
		err = eachEvent(r, func(ev *cloudevents.Event) bool {
			if (len(f.tenants) == 0 || slices.Contains(f.tenants, ev.TenantID)) && f.win.contains(ev.Time) {
				fn(ev)
				n++
			}
			return (limit <= 0 || n < limit) && ctx.Err() == nil
		})
		r.Close()
		if err != nil {
			return fmt.Errorf("--events: %s: %w", p, err)
		}
		if (limit > 0 && n >= limit) || ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// eachEvent calls fn for each structured-mode CloudEvent read from r (one
// object, an array or one per line) until fn returns false. An event that
// is not a valid CloudEvent is an error naming its position.
func eachEvent(r io.Reader, fn func(*cloudevents.Event) bool) error {
	sr := cloudevents.NewStreamReader(r)
	for i := 1; ; i++ {
		raw, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ev, err := cloudevents.ParseStructured(raw)
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if !fn(ev) {
			return nil
		}
	}
}

// storeSource lists the tenants' records in the time window, newest first,
// and replays each as it arrived: the processed event's attributes with the
// data the record keeps from before the rules.
type storeSource struct {
	s       store.Store
	name    string
	tenants []string
	win     window
	skipped int
}

func (s *storeSource) Name() string {
	return s.name + " (tenants " + strings.Join(s.tenants, ", ") + ")"
}

func (s *storeSource) Close() error { return s.s.Close() }

func (s *storeSource) NotReplayed() int { return s.skipped }

func (s *storeSource) Each(ctx context.Context, limit int, fn func(*cloudevents.Event)) error {
	n := 0
	for _, t := range s.tenants {
		q := store.Query{Tenant: t, From: s.win.from, To: s.win.to, Limit: store.MaxLimit}
		for {
			page, err := s.s.List(ctx, q)
			if err != nil {
				return fmt.Errorf("list the events of tenant %s: %w", t, err)
			}
			for i := range page.Records {
				r := &page.Records[i]
				if len(r.Input) == 0 {
					s.skipped++
					continue
				}
				ev, err := cloudevents.ParseStructured(r.Event)
				if err != nil {
					return fmt.Errorf("stored event %s %q/%q: %w", r.Tenant, r.Source, r.ID, err)
				}
				ev.Data = r.Input // rules change only data (and add extensions)
				fn(ev)
				if n++; limit > 0 && n >= limit {
					return nil
				}
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
	}
	return nil
}
