package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// These tests drive the API's HTTP server (newHTTPServer, problemListener,
// problemFallback) over real TCP connections, with the ingest handler in
// front of an Acceptor that counts: they are about connections, timeouts
// and replies, not the pipeline behind.

const httpTestKey = "http-test-key-0123456789"

type countAccept struct {
	mu sync.Mutex
	n  int
}

func (c *countAccept) Accept(_ context.Context, _ string, evs []*cloudevents.Event) []error {
	c.mu.Lock()
	c.n += len(evs)
	c.mu.Unlock()
	return make([]error, len(evs))
}

// testServer serves the ingest handler with lim (server) and il (ingest).
func testServer(t *testing.T, lim httpLimits, il ingest.Limits) string {
	t.Helper()
	reg := tenant.NewRegistry()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(httpTestKey)}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events", ingest.NewHandler(ingest.Config{Auth: reg, Accept: &countAccept{}, Limits: il}))
	mux.HandleFunc("GET /v1/events/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.PathValue("id")) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(problemFallback(mux), lim, nil)
	go srv.Serve(problemListener(ln, lim.MaxHeaderBytes))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func shortLimits() httpLimits {
	return httpLimits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 1 << 20}
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntilClosed reads what the server sends until it closes the
// connection, failing if it is still open after bound.
func readUntilClosed(t *testing.T, c net.Conn, bound time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(bound))
	b, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %s (got %q)", bound, b)
	}
	return string(b)
}

const postHead = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + httpTestKey + "\r\nContent-Type: application/cloudevents+json\r\n"

// TestStalledBodiesAreCut: 50 connections that declare a body and send
// none, and one that trickles its body, are all closed within a bound
// (10× the configured grace and more), while a normal request on another
// connection is served meanwhile.
func TestStalledBodiesAreCut(t *testing.T) {
	const grace = 300 * time.Millisecond
	addr := testServer(t, shortLimits(), ingest.Limits{BodyGrace: grace, MinBodyRate: 1024})
	var conns []net.Conn
	for range 50 {
		c := dialRaw(t, addr)
		if _, err := io.WriteString(c, postHead+"Content-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	trickle := dialRaw(t, addr)
	if _, err := io.WriteString(trickle, postHead+"Content-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 10 bytes/s, far under the minimum of 1 KiB/s
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := trickle.Write([]byte("{")); err != nil {
					return
				}
			}
		}
	}()
	// Served meanwhile.
	post(t, addr, `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{}}`, http.StatusAccepted)

	bound := 20 * grace
	for i, c := range append(conns, trickle) {
		got := readUntilClosed(t, c, bound)
		if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, problem.ContentType) {
			t.Fatalf("connection %d got %q, want a 408 problem", i, got)
		}
	}
	post(t, addr, `{"specversion":"1.0","id":"2","source":"/s","type":"t","data":{}}`, http.StatusAccepted)
}

// TestSlowHeadersAndIdleConnectionsAreClosed: a client that never finishes
// its headers, one that sends nothing, and a kept-alive idle connection are
// closed after their timeouts.
func TestSlowHeadersAndIdleConnectionsAreClosed(t *testing.T) {
	lim := shortLimits()
	addr := testServer(t, lim, ingest.Limits{})
	slow := dialRaw(t, addr)
	if _, err := io.WriteString(slow, "POST /v1/events HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	silent := dialRaw(t, addr)
	idle := dialRaw(t, addr)
	if _, err := io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	bound := 20 * lim.ReadHeaderTimeout
	readUntilClosed(t, slow, bound)
	readUntilClosed(t, silent, bound)
	if got := readUntilClosed(t, idle, 20*lim.IdleTimeout); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Fatalf("idle connection got %q", got)
	}
}

// TestDeclaredLengthAnsweredAtOnce: a Content-Length four times the limit
// gets its 413 without the body being waited for (the grace here is a
// minute), and no 100 Continue is sent to a client that asked.
func TestDeclaredLengthAnsweredAtOnce(t *testing.T) {
	addr := testServer(t, shortLimits(), ingest.Limits{MaxEventBytes: 1 << 20, BodyGrace: time.Minute})
	for _, expect := range []string{"", "Expect: 100-continue\r\n"} {
		c := dialRaw(t, addr)
		if _, err := io.WriteString(c, postHead+expect+fmt.Sprintf("Content-Length: %d\r\n\r\n", 4<<20)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no reply to a declared 4 MiB body: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Fatalf("%q: status %d %s", expect, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestServerRepliesAreProblems: what the mux and net/http itself answer —
// unknown route, wrong method, 2 MB of headers, a request net/http cannot
// read — is problem details too.
func TestServerRepliesAreProblems(t *testing.T) {
	addr := testServer(t, shortLimits(), ingest.Limits{})
	base := "http://" + addr
	for _, tc := range []struct {
		method, path string
		status       int
		field, allow string
	}{
		{"PUT", "/v1/events", 405, "method", "POST"},
		{"DELETE", "/v1/events/x", 405, "method", "GET, HEAD"},
		{"GET", "/nope", 404, "path", ""},
		{"POST", "/v1/eventsx", 404, "path", ""},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := readProblem(t, resp, tc.status)
		if p.Field != tc.field || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: field %q Allow %q", tc.method, tc.path, p.Field, resp.Header.Get("Allow"))
		}
	}
	// A routed request still gets its path values.
	resp, err := http.Get(base + "/v1/events/abc")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "abc" {
		t.Fatalf("GET /v1/events/abc: %d %q", resp.StatusCode, b)
	}

	// 2 MB of headers: net/http's own 431, rewritten. net/http hangs up
	// 500 ms after replying while the client is still sending, so a client
	// slower than that to read may see a reset instead (net/http: "undefined
	// behavior"); such a run is tried again.
	for attempt := 1; ; attempt++ {
		c := dialRaw(t, addr)
		go func() {
			_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2<<20)+"\r\n\r\n")
		}()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err = http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNRESET) || attempt == 3 {
			t.Fatalf("2 MB header: %v", err)
		}
	}
	if p := readProblem(t, resp, http.StatusRequestHeaderFieldsTooLarge); p.Field != "headers" || !strings.Contains(p.Detail, "1048576") {
		t.Errorf("431 problem %+v", p)
	}

	// A request line net/http cannot parse, and a missing Host.
	for _, raw := range []string{"NOT HTTP\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"} {
		c := dialRaw(t, addr)
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if resp.StatusCode < 400 || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Errorf("%q: %d %s", raw, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		readProblem(t, resp, resp.StatusCode)
	}
}

func readProblem(t *testing.T, resp *http.Response, status int) problem.Problem {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p problem.Problem
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != problem.ContentType || json.Unmarshal(b, &p) != nil ||
		p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Fatalf("got %d %s %q, want a %d problem", resp.StatusCode, resp.Header.Get("Content-Type"), b, status)
	}
	return p
}

func post(t *testing.T, addr, body string, status int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", ingest.StructuredContentType)
	req.Header.Set("Authorization", "Bearer "+httpTestKey)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("POST: %d %s, want %d", resp.StatusCode, b, status)
	}
}
