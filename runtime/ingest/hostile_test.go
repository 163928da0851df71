package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// hostileCase is one request a hostile producer sends and the answer it
// must get: the status and the problem's field. For a 202 the Acceptor
// must have received exactly the id and source sent.
type hostileCase struct {
	name    string
	ct      string
	hdr     map[string]string
	query   string
	body    string
	status  int
	field   string
	id, src string // for 202: what the Acceptor must see
	big     bool   // a 1 MiB event limit instead of 1 KiB
}

func ce(extra string) string {
	return `{"specversion":"1.0","id":"e-1","source":"/s","type":"com.acme.x"` + extra + `,"data":{"a":1}}`
}

func binHdr(kv ...string) map[string]string {
	h := map[string]string{"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/s", "ce-type": "com.acme.x"}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(h, kv[i])
			continue
		}
		h[kv[i]] = kv[i+1]
	}
	return h
}

var hostileHTTP = []hostileCase{
	// Structured mode.
	{name: "structured ok", ct: StructuredContentType, body: ce(""), status: 202, id: "e-1", src: "/s"},
	{name: "structured invalid UTF-8 id", ct: StructuredContentType, body: strings.Replace(ce(""), `"e-1"`, "\"coll\xff\"", 1), status: 400, field: "id"},
	{name: "structured overlong UTF-8 id", ct: StructuredContentType, body: strings.Replace(ce(""), `"e-1"`, "\"coll\xc1\xbf\"", 1), status: 400, field: "id"},
	{name: "structured lone surrogate id", ct: StructuredContentType, body: strings.Replace(ce(""), `"e-1"`, `"coll\ud800"`, 1), status: 400, field: "id"},
	{name: "structured lone surrogate source", ct: StructuredContentType, body: strings.Replace(ce(""), `"/s"`, `"/s\udfff"`, 1), status: 400, field: "source"},
	{name: "structured NUL id", ct: StructuredContentType, body: strings.Replace(ce(""), `"e-1"`, `"e\u0000"`, 1), status: 400, field: "id"},
	{name: "structured control source", ct: StructuredContentType, body: strings.Replace(ce(""), `"/s"`, `"/s\u001b[2J"`, 1), status: 400, field: "source"},
	{name: "structured erfired", ct: StructuredContentType, body: ce(`,"erfired":"approve"`), status: 400, field: "erfired"},
	{name: "structured ertags", ct: StructuredContentType, body: ce(`,"ertags":"vip"`), status: 400, field: "ertags"},
	{name: "structured erroute", ct: StructuredContentType, body: ce(`,"erroute":"billing"`), status: 400, field: "erroute"},
	{name: "structured extension array depth 10", ct: StructuredContentType, body: ce(`,"ext":` + strings.Repeat("[", 10) + strings.Repeat("]", 10)), status: 400, field: "ext"},
	{name: "structured extension object depth 1000", ct: StructuredContentType, body: ce(`,"ext":` + strings.Repeat(`{"a":`, 1000) + "0" + strings.Repeat("}", 1000)), status: 400, field: "ext", big: true},
	{name: "structured extension 1e400", ct: StructuredContentType, body: ce(`,"ext":1e400`), status: 400, field: "ext"},
	{name: "structured extension out of int32", ct: StructuredContentType, body: ce(`,"ext":9007199254740993`), status: 400, field: "ext"},
	{name: "structured extension -0", ct: StructuredContentType, body: ce(`,"ext":-0`), status: 202, id: "e-1", src: "/s"},
	{name: "structured data and data_base64", ct: StructuredContentType, body: ce(`,"data_base64":"eyJhIjoxfQ=="`), status: 400, field: "data_base64"},
	{name: "structured source blank", ct: StructuredContentType, body: strings.Replace(ce(""), `"/s"`, `""`, 1), status: 400, field: "source"},
	{name: "structured source space", ct: StructuredContentType, body: strings.Replace(ce(""), `"/s"`, `" "`, 1), status: 400, field: "source"},
	{name: "structured duplicate id", ct: StructuredContentType, body: ce(`,"id":"e-2"`), status: 400, field: "id"},
	{name: "structured id 1e400", ct: StructuredContentType, body: strings.Replace(ce(""), `"e-1"`, `1e400`, 1), status: 400, field: "id"},
	{name: "structured truncated", ct: StructuredContentType, body: ce("")[:40], status: 400, field: "body"},
	{name: "structured not JSON", ct: StructuredContentType, body: "{\x00}", status: 400, field: "body"},
	{name: "structured 10^5 deep data", ct: StructuredContentType, body: strings.Replace(ce(""), `{"a":1}`, strings.Repeat("[", 100000)+strings.Repeat("]", 100000), 1), status: 400, field: "body", big: true},
	{name: "structured over the event limit", ct: StructuredContentType, body: ce(`,"pad":"` + strings.Repeat("x", 1100) + `"`), status: 413, field: "body"},

	// Binary mode.
	{name: "binary ok", ct: "application/json", hdr: binHdr(), body: `{"a":1}`, status: 202, id: "b-1", src: "/s"},
	{name: "binary percent-encoded invalid UTF-8", ct: "application/json", hdr: binHdr("ce-id", "x-%FF%FE"), body: `{}`, status: 400, field: "ce-id"},
	{name: "binary percent-encoded overlong", ct: "application/json", hdr: binHdr("ce-id", "x-%C0%AF"), body: `{}`, status: 400, field: "ce-id"},
	{name: "binary percent-encoded surrogate", ct: "application/json", hdr: binHdr("ce-source", "/%ED%A0%80"), body: `{}`, status: 400, field: "ce-source"},
	{name: "binary raw invalid UTF-8", ct: "application/json", hdr: binHdr("ce-id", "x-\xff"), body: `{}`, status: 400, field: "ce-id"},
	{name: "binary percent-encoded NUL", ct: "application/json", hdr: binHdr("ce-id", "a%00"), body: `{}`, status: 400, field: "ce-id"},
	{name: "binary percent-encoded newline", ct: "application/json", hdr: binHdr("ce-source", "/a%0Ab"), body: `{}`, status: 400, field: "ce-source"},
	{name: "binary source a space", ct: "application/json", hdr: binHdr("ce-source", "%20"), body: `{}`, status: 400, field: "ce-source"},
	{name: "binary erfired", ct: "application/json", hdr: binHdr("ce-erfired", "approve"), body: `{}`, status: 400, field: "ce-erfired"},
	{name: "binary extension invalid UTF-8", ct: "application/json", hdr: binHdr("ce-region", "eu%FF"), body: `{}`, status: 400, field: "ce-region"},
	{name: "binary ce-data", ct: "application/json", hdr: binHdr("ce-data", "x"), body: `{}`, status: 400, field: "ce-data"},
	{name: "binary ce-datacontenttype", ct: "application/json", hdr: binHdr("ce-datacontenttype", "text/plain"), body: `{}`, status: 400, field: "ce-datacontenttype"},
	{name: "binary bad data", ct: "application/json", hdr: binHdr(), body: `{"a":`, status: 400, field: "body"},
	{name: "binary 10^5 deep data", ct: "application/json", hdr: binHdr(), body: strings.Repeat("[", 100000) + strings.Repeat("]", 100000), status: 400, field: "body", big: true},
	{name: "binary headers count toward the event", ct: "application/json", hdr: binHdr("ce-pad", strings.Repeat("x", 900)), body: `{"a":"` + strings.Repeat("y", 200) + `"}`, status: 413, field: "body"},
	{name: "binary headers alone over the event", ct: "application/json", hdr: binHdr("ce-pad", strings.Repeat("x", 1100)), body: `{}`, status: 413, field: "ce-*"},

	// Raw JSON.
	{name: "raw ok", ct: "application/json", hdr: map[string]string{TypeHeader: "com.acme.x", IdempotencyHeader: "k-1", SourceHeader: "/pos"}, body: `{"a":1}`, status: 202, id: "k-1", src: "/pos"},
	{name: "raw invalid UTF-8 idempotency key", ct: "application/json", hdr: map[string]string{TypeHeader: "com.acme.x", IdempotencyHeader: "k\xff"}, body: `{}`, status: 400, field: IdempotencyHeader},
	{name: "raw NUL in source header", ct: "application/json", hdr: map[string]string{TypeHeader: "com.acme.x", SourceHeader: "/a\x00"}, body: `{}`, status: 400, field: SourceHeader},
	{name: "raw source query a space", ct: "application/json", hdr: map[string]string{TypeHeader: "com.acme.x"}, query: "source=%20", body: `{}`, status: 400, field: "?source"},
	{name: "raw type query invalid UTF-8", ct: "application/json", query: "type=x%FF", body: `{}`, status: 400, field: "?type"},
	{name: "raw truncated", ct: "application/json", hdr: map[string]string{TypeHeader: "com.acme.x"}, body: `{"a":[1,`, status: 400, field: "body"},

	// Batch mode.
	{name: "batch all invalid", ct: BatchContentType, body: "[" + strings.Replace(ce(""), `"e-1"`, `"\ud800"`, 1) + "," + ce(`,"erfired":"x"`) + "]", status: 400, field: "[0].id"},
	{name: "batch truncated", ct: BatchContentType, body: "[" + ce("") + "," + ce("")[:30], status: 400, field: "body"},
	{name: "batch of scalars", ct: BatchContentType, body: `[1,"x"]`, status: 400, field: "[0].body"},
	{name: "batch over the count limit", ct: BatchContentType, body: "[" + strings.Repeat(ce("")+",", 10) + ce("") + "]", status: 413, field: "body"},
}

func TestHostileHTTP(t *testing.T) {
	for _, tt := range hostileHTTP {
		t.Run(tt.name, func(t *testing.T) {
			h, acc, key := newLimitedHandler(t)
			if tt.big {
				h.cfg.Limits.MaxEventBytes = 1 << 20
			}
			target := "/v1/events"
			if tt.query != "" {
				target += "?" + tt.query
			}
			r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			r.Header.Set("Authorization", "Bearer "+key)
			for k, v := range tt.hdr {
				r.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == http.StatusAccepted {
				if len(acc.seen) != 1 || acc.seen[0].ID != tt.id || acc.seen[0].Source != tt.src {
					t.Fatalf("the Acceptor saw %+v, want id %q source %q", acc.seen, tt.id, tt.src)
				}
				return
			}
			if len(acc.seen) != 0 {
				t.Fatalf("a refused request reached the Acceptor: %+v", acc.seen)
			}
			checkProblem(t, w, tt.status, tt.field)
		})
	}
}

// newLimitedHandler is a handler with a 1 KiB event limit (so that size
// cases stay small) and a 10-event batch.
func newLimitedHandler(t *testing.T) (*Handler, *rejectTypes, string) {
	t.Helper()
	reg := tenant.NewRegistry()
	key := tenant.NewKey()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
		t.Fatal(err)
	}
	acc := &rejectTypes{}
	return NewHandler(Config{Auth: reg, Accept: acc, Limits: Limits{MaxEventBytes: 1024, MaxBatch: 10}}), acc, key
}

// checkProblem checks an RFC 9457 reply: content type, status, title and
// detail, and the field named.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int, field string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q: %s", ct, w.Body)
	}
	var p problem.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" || p.Type == "" {
		t.Fatalf("problem %+v, want status %d with title and detail", p, status)
	}
	if p.Field != field {
		t.Fatalf("problem field %q, want %q (%s)", p.Field, field, p.Detail)
	}
}

// TestBatchFieldsNameTheIndex: every problem in a batch reply names its
// event's index, whatever refused the event (parsing, size, tenancy, the
// Acceptor's schema check), and an all-refused batch is a problem listing
// each outcome.
func TestBatchFieldsNameTheIndex(t *testing.T) {
	h, _, key := newLimitedHandler(t)
	body := "[" + ce("") + "," + // 0: accepted
		strings.Replace(ce(""), `"e-1"`, `"e\u0000"`, 1) + "," + // 1: id
		ce(`,"pad":"`+strings.Repeat("x", 1100)+`"`) + "," + // 2: too large
		ce(`,"tenantid":"globex"`) + "," + // 3: tenant
		strings.Replace(ce(""), "com.acme.x", "bad.x", 1) + "]" // 4: schema (the Acceptor)
	r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	r.Header.Set("Content-Type", BatchContentType)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMultiStatus {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var reply BatchReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status int
		field  string
	}{{202, ""}, {400, "[1].id"}, {413, "[2]"}, {403, "[3].tenantid"}, {422, "[4].data.$.x"}}
	for i, wnt := range want {
		r := reply.Results[i]
		got := ""
		if r.Problem != nil {
			got = r.Problem.Field
		}
		if r.Status != wnt.status || got != wnt.field {
			t.Errorf("result %d: status %d field %q, want %d %q", i, r.Status, got, wnt.status, wnt.field)
		}
	}

	// All refused: a problem with status, title and detail plus the results.
	r = httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader("["+strings.Replace(ce(""), "com.acme.x", "bad.x", 1)+","+ce(`,"ertags":"x"`)+"]"))
	r.Header.Set("Content-Type", BatchContentType)
	r.Header.Set("Authorization", "Bearer "+key)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	checkProblem(t, w, http.StatusBadRequest, "[0].data.$.x")
	var all struct {
		problem.Problem
		BatchReply
	}
	if err := json.Unmarshal(w.Body.Bytes(), &all); err != nil {
		t.Fatal(err)
	}
	if all.Rejected != 2 || len(all.Results) != 2 || all.Results[1].Problem.Field != "[1].ertags" || all.Results[0].Status != 422 {
		t.Fatalf("all-refused batch reply %s", w.Body)
	}
}

// failingBody fails the test if the handler reads it.
type failingBody struct{ t *testing.T }

func (b failingBody) Read([]byte) (int, error) {
	b.t.Error("the body was read")
	return 0, errors.New("read")
}

// TestDeclaredLengthOverLimit: a Content-Length over the limit is answered
// 413 without reading the body, and the connection is to be closed.
func TestDeclaredLengthOverLimit(t *testing.T) {
	h, _, key := newLimitedHandler(t)
	for _, ct := range []string{StructuredContentType, BatchContentType, "application/json"} {
		r := httptest.NewRequest(http.MethodPost, "/v1/events?type=com.acme.x", io.NopCloser(failingBody{t}))
		r.ContentLength = 64 << 20
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkProblem(t, w, http.StatusRequestEntityTooLarge, "body")
		if w.Header().Get("Connection") != "close" {
			t.Errorf("%s: no Connection: close", ct)
		}
	}
}

// countingBody is an endless body counting what is read of it.
type countingBody struct{ n int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	b.n += int64(len(p))
	return len(p), nil
}

// TestUndeclaredBodyReadThroughLimit: a body without Content-Length is
// read only up to the limit before the 413.
func TestUndeclaredBodyReadThroughLimit(t *testing.T) {
	h, _, key := newLimitedHandler(t)
	body := &countingBody{}
	r := httptest.NewRequest(http.MethodPost, "/v1/events", io.NopCloser(body))
	r.ContentLength = -1
	r.Header.Set("Content-Type", StructuredContentType)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	checkProblem(t, w, http.StatusRequestEntityTooLarge, "body")
	if body.n > 64<<10 {
		t.Fatalf("read %d bytes of an endless body with a 1 KiB limit", body.n)
	}
}
