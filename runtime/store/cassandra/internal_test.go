package cassandra

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// TestChunk checks that one partition's rows are split into unlogged
// batches under the size and row bounds, in order, a large row alone.
func TestChunk(t *testing.T) {
	cases := []struct {
		name  string
		sizes []int
		want  []int // rows per batch
	}{
		{"one row", []int{10}, []int{1}},
		{"row bound", make([]int, casBatchRows+1), []int{casBatchRows, 1}},
		{"size bound", []int{20 << 10, 20 << 10, 1}, []int{1, 2}},
		{"large row alone", []int{1, 1 << 20, 1}, []int{1, 1, 1}},
	}
	for _, c := range cases {
		var entries []gocql.BatchEntry
		for i, n := range c.sizes {
			entries = append(entries, gocql.BatchEntry{Stmt: "INSERT", Args: []any{"acme", int64(i), bytes.Repeat([]byte("x"), n)}})
		}
		var got []int
		next := int64(0)
		for _, st := range chunk(entries) {
			got = append(got, len(st.entries))
			size := 0
			for _, e := range st.entries {
				if e.Args[1] != next {
					t.Errorf("%s: row %v where row %d belongs", c.name, e.Args[1], next)
				}
				next++
				size += entrySize(e)
			}
			if len(st.entries) > 1 && size > casBatchBytes {
				t.Errorf("%s: a batch of %d bytes", c.name, size)
			}
		}
		if !slices.Equal(got, c.want) || next != int64(len(entries)) {
			t.Errorf("%s: batches of %v rows, want %v", c.name, got, c.want)
		}
	}
}

// TestBucketOf checks that buckets round down, before the epoch too.
func TestBucketOf(t *testing.T) {
	s := &Store{bucket: 3600}
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(3599, 999999999), 0},
		{time.Unix(3600, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-3600, 0), -1},
		{time.Unix(-3601, 0), -2},
		{time.Time{}, -62135596800 / 3600},
	} {
		if got := s.bucketOf(c.t); got != c.want {
			t.Errorf("bucketOf(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// TestKeyLocks checks that a key is held by one caller at a time, that
// disjoint keys do not wait for each other, and that no entry outlives its
// last holder.
func TestKeyLocks(t *testing.T) {
	var l keyLocks
	release := l.lock([]string{"a", "b"})
	other := make(chan struct{})
	go func() { l.lock([]string{"c", "d"})(); close(other) }()
	select {
	case <-other:
	case <-time.After(10 * time.Second):
		t.Fatal("disjoint keys waited for each other")
	}
	var mu sync.Mutex
	inside := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				r := l.lock([]string{"b", "x"})
				mu.Lock()
				inside++
				if inside != 1 {
					t.Errorf("%d holders of b at once", inside)
				}
				inside--
				mu.Unlock()
				r()
			}
		}()
	}
	release()
	wg.Wait()
	if len(l.m) != 0 {
		t.Errorf("%d lock entries left", len(l.m))
	}
}
