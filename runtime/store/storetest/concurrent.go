package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// testConcurrentPut has writers race on a shared pool of ids from two
// sources, moving them between times and types, then checks that the indexes
// agree with Get: one entry per (source, id), at the time and type its stored version has, with content
// that one of the writers wrote. A store whose read-before-write races leaves
// stale index entries behind and fails here.
func testConcurrentPut(t *testing.T, s store.Store) {
	const (
		writers = 8
		batches = 40
		batch   = 16
		shared  = 64
	)
	types := []string{typeOrder, "com.acme.order.shipped"}
	var (
		mu      sync.Mutex
		written = map[string]map[string]bool{} // source id → events written
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 99))
			for b := range batches {
				recs := make([]store.Record, batch)
				for i := range recs {
					id := fmt.Sprintf("shared-%02d", rnd.IntN(shared))
					if i%4 == 0 {
						id = fmt.Sprintf("own-%d-%d-%d", w, b, i)
					}
					at := t0.Add(time.Duration(rnd.IntN(5)) * time.Second)
					src := []string{source, "/other"}[rnd.IntN(2)]
					recs[i] = recFrom(tenant, src, id, types[rnd.IntN(2)], at, fmt.Sprintf("w%d-b%d-i%d", w, b, i))
				}
				mu.Lock()
				for _, r := range recs {
					k := r.Source + " " + r.ID
					if written[k] == nil {
						written[k] = map[string]bool{}
					}
					written[k][string(r.Event)] = true
				}
				mu.Unlock()
				if err := s.Put(context.Background(), recs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Put: %v", err)
	}

	all := listAll(t, s, store.Query{Tenant: tenant, Limit: 77})
	checkOrder(t, "List after concurrent Puts", all)
	if len(all) != len(written) {
		t.Errorf("List after concurrent Puts: %d records, want %d distinct (source, id)", len(all), len(written))
	}
	byType := 0
	for _, typ := range types {
		for _, r := range listAll(t, s, store.Query{Tenant: tenant, Type: typ}) {
			byType++
			if g := getFrom(t, s, tenant, r.Source, r.ID); r.Type != typ || g.Type != typ || !g.Time.Equal(r.Time) {
				t.Errorf("type index lists %q as %s at %v; Get says %s at %v", r.ID, typ, r.Time, g.Type, g.Time)
			}
		}
	}
	if byType != len(written) {
		t.Errorf("type indexes hold %d records, want %d", byType, len(written))
	}
	for _, r := range all {
		g := getFrom(t, s, tenant, r.Source, r.ID)
		if !g.Time.Equal(r.Time) || g.Type != r.Type || !bytes.Equal(g.Event, r.Event) {
			t.Errorf("List and Get disagree on %q: %v %s vs %v %s", r.ID, r.Time, r.Type, g.Time, g.Type)
		}
		if !written[r.Source+" "+r.ID][string(g.Event)] {
			t.Errorf("record %q holds an event no writer wrote: %s", r.ID, g.Event)
		}
		if !bytes.Contains(g.Event, []byte(g.Time.Format(time.RFC3339Nano))) || !bytes.Contains(g.Event, []byte(g.Type)) {
			t.Errorf("record %q: time %v and type %s are not those of its event %s", r.ID, g.Time, g.Type, g.Event)
		}
	}
}

// testReadsDuringMoves reads while a writer keeps moving records between
// times and types: Get must always find a record that exists and return one
// consistent version of it, and List pages stay ordered and consistent.
func testReadsDuringMoves(t *testing.T, s store.Store) {
	const n = 40
	types := []string{typeOrder, "com.acme.order.shipped"}
	version := func(i, round int, rnd *rand.Rand) store.Record {
		at := t0.Add(time.Duration(rnd.IntN(1000)) * time.Millisecond)
		return rec(tenant, fmt.Sprintf("m-%02d", i), types[rnd.IntN(2)], at, fmt.Sprintf("r%d", round))
	}
	rnd := rand.New(rand.NewPCG(11, 12))
	initial := make([]store.Record, n)
	for i := range initial {
		initial[i] = version(i, 0, rnd)
	}
	put(t, s, initial...)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	writerErr := make(chan error, 1)
	go func() {
		defer stop()
		for round := 1; round <= 150; round++ {
			batch := make([]store.Record, 8)
			for i := range batch {
				batch[i] = version(rnd.IntN(n), round, rnd)
			}
			if err := s.Put(context.Background(), batch); err != nil {
				writerErr <- err
				return
			}
		}
		writerErr <- nil
	}()
	consistent := func(r store.Record) bool {
		return bytes.Contains(r.Event, []byte(r.Time.Format(time.RFC3339Nano))) &&
			bytes.Contains(r.Event, []byte(`"type":"`+r.Type+`"`)) &&
			bytes.Contains(r.Event, []byte(`"id":"`+r.ID+`"`))
	}
	var wg sync.WaitGroup
	for reader := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("m-%02d", (i*7+reader)%n)
				r, err := s.Get(context.Background(), tenant, source, id)
				if err != nil {
					t.Errorf("Get(%q) while it moves: %v", id, err)
					return
				}
				if !consistent(r) {
					t.Errorf("Get(%q) mixes versions: %v %s %s", id, r.Time, r.Type, r.Event)
					return
				}
				if i%5 == 0 {
					l, err := s.Lookup(context.Background(), tenant, id, 0)
					if err != nil || len(l) != 1 || !consistent(l[0]) {
						t.Errorf("Lookup(%q) while it moves: %d records, %v", id, len(l), err)
						return
					}
				}
				if i%10 != 0 {
					continue
				}
				q := store.Query{Tenant: tenant, Type: []string{"", typeOrder}[i/10%2], Limit: 15}
				p, err := s.List(context.Background(), q)
				if err != nil {
					t.Errorf("List while records move: %v", err)
					return
				}
				for j, r := range p.Records {
					if !consistent(r) || (q.Type != "" && r.Type != q.Type) {
						t.Errorf("List(type %q) while records move returned %v %s %s", q.Type, r.Time, r.Type, r.Event)
						return
					}
					if j > 0 && !before(p.Records[j-1], r) {
						t.Errorf("List while records move: %q before %q out of order", p.Records[j-1].ID, r.ID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := <-writerErr; err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := listAll(t, s, store.Query{Tenant: tenant}); len(got) != n {
		t.Errorf("after the moves: %d records, want %d", len(got), n)
	}
}
