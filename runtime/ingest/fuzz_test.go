package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// recordAll accepts everything and keeps what it saw.
type recordAll struct {
	mu   sync.Mutex
	seen []*cloudevents.Event
}

func (a *recordAll) Accept(_ context.Context, _ string, evs []*cloudevents.Event) []error {
	a.mu.Lock()
	a.seen = append(a.seen, evs...)
	a.mu.Unlock()
	return make([]error, len(evs))
}

// fuzzRequest sends one request and checks the invariants of any reply:
// a known status, a JSON body in valid UTF-8 (problem details for errors),
// and every event the Acceptor got passes CheckIncoming.
func fuzzRequest(t *testing.T, ct string, hdr http.Header, body []byte) {
	reg := tenant.NewRegistry()
	_ = reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey("fuzz-key-0123456789")}})
	acc := &recordAll{}
	h := NewHandler(Config{Auth: reg, Accept: acc, Limits: Limits{MaxEventBytes: 4096, MaxBatch: 20}})
	r := httptest.NewRequest(http.MethodPost, "/v1/events?type=com.acme.x", strings.NewReader(string(body)))
	for k, v := range hdr {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", ct)
	r.Header.Set("Authorization", "Bearer fuzz-key-0123456789")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	switch w.Code {
	case 202, 207, 400, 403, 413, 415:
	default:
		t.Fatalf("status %d for %q", w.Code, body)
	}
	if !json.Valid(w.Body.Bytes()) || !utf8.Valid(w.Body.Bytes()) {
		t.Fatalf("reply %q is not JSON in UTF-8", w.Body)
	}
	if w.Code >= 400 && w.Header().Get("Content-Type") != problem.ContentType {
		t.Fatalf("status %d with content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	for _, ev := range acc.seen {
		if err := ev.CheckIncoming(); err != nil {
			t.Fatalf("accepted an event failing CheckIncoming (%v) from %q", err, body)
		}
	}
	if w.Code == 202 && len(acc.seen) == 0 {
		t.Fatalf("202 without an accepted event for %q", body)
	}
}

// FuzzStructuredBody and FuzzBatchBody feed arbitrary bodies to the
// handler; the hostile cases seed them.
func FuzzStructuredBody(f *testing.F) {
	for _, c := range hostileHTTP {
		if c.ct == StructuredContentType {
			f.Add([]byte(c.body))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRequest(t, StructuredContentType, nil, b) })
}

func FuzzBatchBody(f *testing.F) {
	for _, c := range hostileHTTP {
		if c.ct == BatchContentType || c.ct == StructuredContentType {
			f.Add([]byte("[" + c.body + "]"))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRequest(t, BatchContentType, nil, b) })
}

// FuzzBinaryHeaders feeds arbitrary ce-* header values.
func FuzzBinaryHeaders(f *testing.F) {
	f.Add("b-1", "/s", "eu", []byte(`{"a":1}`))
	f.Add("x-%FF%FE", "%20", "%00", []byte(`{}`))
	f.Add("%", "/a%zz", "eu%C0%AF", []byte(`[`))
	f.Fuzz(func(t *testing.T, id, source, ext string, body []byte) {
		hdr := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {source}, "Ce-Type": {"com.acme.x"}, "Ce-Region": {ext}}
		fuzzRequest(t, "application/json", hdr, body)
	})
}

func TestFuzzSeeds(t *testing.T) {
	for _, c := range hostileHTTP {
		if c.ct == StructuredContentType || c.ct == BatchContentType {
			fuzzRequest(t, c.ct, nil, []byte(c.body))
		}
	}
}

func TestReadAll(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 1 << 20, 1<<20 + 7, 3<<20 + 1} {
		body := strings.Repeat("x", n)
		for _, declared := range []int64{-1, int64(n)} {
			got, err := readAll(strings.NewReader(body), declared)
			if err != nil || string(got) != body {
				t.Fatalf("readAll(%d bytes, declared %d) = %d bytes, %v", n, declared, len(got), err)
			}
		}
	}
}
