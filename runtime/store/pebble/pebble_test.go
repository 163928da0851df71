package pebble_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/store/storetest"
)

func openStore(t *testing.T, opts pebble.Options) store.Store {
	t.Helper()
	s, err := pebble.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestContract runs the contract with the production setting (every
// Put synced).
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, pebble.Options{}) })
}

func TestContractNoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("the synced run covers the semantics")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, pebble.Options{NoSync: true}) })
}

// TestReopen checks that what Put acknowledged is there after a
// restart, indexes included.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	recs := []store.Record{
		{Tenant: "acme", Source: "/s", ID: "a", Type: "t.one", Time: t0, Event: []byte(`{"id":"a"}`)},
		{Tenant: "acme", Source: "/s", ID: "b", Type: "t.two", Time: t0.Add(time.Second), Event: []byte(`{"id":"b"}`)},
	}
	if err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, "acme", "/s", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := s.Get(ctx, "acme", "/s", "a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, recs); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s.List(ctx, store.Query{Tenant: "acme"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}

	s, err = pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "acme", "/s", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !got.StoredAt.Equal(stored.StoredAt) || string(got.Event) != `{"id":"a"}` || !got.Time.Equal(t0) {
		t.Errorf("after reopen: %+v, want %+v", got, stored)
	}
	page, err := s.List(ctx, store.Query{Tenant: "acme", Type: "t.two"})
	if err != nil || len(page.Records) != 1 || page.Records[0].ID != "b" {
		t.Errorf("List by type after reopen: %+v, %v", page, err)
	}
}

// TestCloseDrains checks that Close waits for Puts in flight rather
// than failing them or closing the database under them.
func TestCloseDrains(t *testing.T) {
	s, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 32
	errs := make(chan error, n)
	for i := range n {
		go func() {
			r := store.Record{Tenant: "acme", Source: "/s", ID: string(rune('a' + i)), Type: "t", Time: time.Now()}
			errs <- s.Put(context.Background(), []store.Record{r})
		}()
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Put during Close: %v", err)
		}
	}
}
