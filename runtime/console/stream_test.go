package console

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
)

// TestStream tails a tenant stream on a real NATS server over HTTP: only
// the tenant's processed events (not its WASM outputs or another tenant's),
// as SSE with the stream sequence as id, resumed after Last-Event-ID; the
// ordered consumer is gone once the client is.
func TestStream(t *testing.T) {
	env := bustest.Start(t)
	env.EnsureTenant(t, "other")
	c, _ := newTestConsole(t, "")
	c.cfg.Streams = func(string) (jetstream.JetStream, error) { return env.JS, nil }
	srv := httptest.NewServer(server(c))
	defer srv.Close()

	publish := func(subject, body string) {
		t.Helper()
		if _, err := env.JS.Publish(context.Background(), subject, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	publish("er.t.acme.com.acme.order.created", `{"id":"before"}`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := tail(t, ctx, srv.URL+"/v1/events/stream", "")
	publish("er.t.other.com.acme.order.created", `{"id":"other's"}`)
	publish("er.out.acme.mine", `{"id":"wasm output"}`)
	publish("er.t.acme.com.acme.order.created", "{\"id\":\"e1\",\n\"two\":\"lines\"}")
	got := <-events
	if got.id != "3" || got.data != "{\"id\":\"e1\",\n\"two\":\"lines\"}" {
		t.Errorf("first event: id %q data %q", got.id, got.data)
	}
	cancel()
	waitConsumers(t, env.JS, bustest.TenantStream, 0)

	// Resume: Last-Event-ID 0 replays from sequence 1.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	events = tail(t, ctx2, srv.URL+"/v1/events/stream", "0")
	if got := <-events; got.id != "1" || got.data != `{"id":"before"}` {
		t.Errorf("resumed: id %q data %q", got.id, got.data)
	}
	if got := <-events; got.id != "3" { // not 2, the WASM output
		t.Errorf("resumed, second: id %q", got.id)
	}
	cancel2()
	waitConsumers(t, env.JS, bustest.TenantStream, 0)

	for q, want := range map[string]int{"?since=yesterday": 400, "?type=bad..type": 400} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/events/stream"+q, nil)
		req.Header.Set("Authorization", "Bearer "+acmeKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
}

type sse struct{ id, data string }

// tail reads SSE events of url as tenant acme until ctx ends.
func tail(t *testing.T, ctx context.Context, url, lastID string) <-chan sse {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+acmeKey)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %v", resp.StatusCode, resp.Header)
	}
	out := make(chan sse, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sse
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:])
			case line == "" && data != nil:
				ev.data = strings.Join(data, "\n")
				out <- ev
				ev, data = sse{}, nil
			}
		}
	}()
	return out
}

func waitConsumers(t *testing.T, js jetstream.JetStream, stream string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n := -1
	for time.Now().Before(deadline) {
		s, err := js.Stream(context.Background(), stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(context.Background())
		if err != nil && err != nats.ErrTimeout {
			t.Fatal(err)
		}
		if n = info.State.Consumers; n == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s has %d consumers, want %d", stream, n, want)
}
