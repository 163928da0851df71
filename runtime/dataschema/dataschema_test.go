package dataschema

import (
	"strings"
	"testing"
)

const order = "com.acme.order.created"

func TestID(t *testing.T) {
	for _, tc := range []struct {
		ds, want, err string
	}{
		{ds: "com.acme.order.created/v1", want: "com.acme.order.created/v1"},
		{ds: "com.acme.order.created/v12", want: "com.acme.order.created/v12"},
		{ds: "http://127.0.0.1:8080/v1/schemas/com.acme.order.created/v2", want: "com.acme.order.created/v2"},
		{ds: "https://events.acme.com/eventrunner/v1/schemas/com.acme.order.created/v2", want: "com.acme.order.created/v2"},
		{ds: "https://schemas.acme.com/com.acme.order.created/v1", want: "com.acme.order.created/v1"},
		{ds: "urn:x/com.acme.order.created/v1", err: "must be <type>/v<N> or an absolute URI"},
		{ds: "com.acme.payment.captured/v1", err: `names a schema of type "com.acme.payment.captured", but the event's type is "com.acme.order.created"`},
		{ds: "https://h/v1/schemas/com.acme.payment.captured/v1", err: `type "com.acme.payment.captured"`},
		{ds: "https://h/v1/schemas/xcom.acme.order.created/v1", err: `type "xcom.acme.order.created"`},
		{ds: "/v1/schemas/com.acme.order.created/v1", err: "must be <type>/v<N> or an absolute URI"},
		{ds: "com.acme.order.created", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/v", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/v0", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/v01", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/v+1", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/1", err: "must be <type>/v<N>"},
		{ds: "com.acme.order.created/v99999999999999999999", err: "must be <type>/v<N>"},
		{ds: "https://h/order", err: "must be <type>/v<N>"},
		{ds: "https://h/v1", err: "must be <type>/v<N>"},
		{ds: "https://h/v1/schemas/com.acme.order.created/v1?x=1", err: "without query or fragment"},
		{ds: "https://h/v1/schemas/com.acme.order.created/v1#", err: "without query or fragment"},
		{ds: "https://h/v1/schemas/com.acme.order.created/v1/", err: "must be <type>/v<N>"},
	} {
		got, err := ID(order, tc.ds)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ID(%q) = %q, %v; want %q", tc.ds, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ID(%q) = %q, %v; want an error containing %q", tc.ds, got, err, tc.err)
		}
	}
}

func TestParseBase(t *testing.T) {
	for _, tc := range []struct{ raw, want, err string }{
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "https://events.acme.com/", want: "https://events.acme.com"},
		{raw: "https://events.acme.com/eventrunner/", want: "https://events.acme.com/eventrunner"},
		{raw: "events.acme.com", err: "absolute http"},
		{raw: "ftp://events.acme.com", err: "absolute http"},
		{raw: "https://", err: "must name a host"},
		{raw: "https://u:p@events.acme.com", err: "user info"},
		{raw: "https://events.acme.com/?a=1", err: "query or fragment"},
		{raw: "https://events.acme.com/#x", err: "query or fragment"},
		{raw: "https://events.acme.com/?", err: "query or fragment"},
	} {
		got, err := ParseBase(tc.raw)
		switch {
		case tc.err == "" && (err != nil || string(got) != tc.want):
			t.Errorf("ParseBase(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseBase(%q) = %q, %v; want an error containing %q", tc.raw, got, err, tc.err)
		}
	}
}

func TestBaseFromAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
		wildcard   bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"[::1]:8080", "http://[::1]:8080", false},
		{"events.local:80", "http://events.local:80", false},
		{":8080", "http://localhost:8080", true},
		{"0.0.0.0:8080", "http://localhost:8080", true},
		{"[::]:8080", "http://localhost:8080", true},
	} {
		got, wildcard, err := BaseFromAddr(tc.addr)
		if err != nil || string(got) != tc.want || wildcard != tc.wildcard {
			t.Errorf("BaseFromAddr(%q) = %q, %v, %v; want %q, %v", tc.addr, got, wildcard, err, tc.want, tc.wildcard)
		}
		if _, err := ParseBase(string(got)); err != nil {
			t.Errorf("BaseFromAddr(%q) = %q, which ParseBase refuses: %v", tc.addr, got, err)
		}
	}
	if _, _, err := BaseFromAddr("no-port"); err == nil {
		t.Error("BaseFromAddr without a port: no error")
	}
}

func TestURL(t *testing.T) {
	b := Base("https://events.acme.com/er")
	if got, want := b.URL("com.acme.order.created/v2"), "https://events.acme.com/er/v1/schemas/com.acme.order.created/v2"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got, want := b.Catalog(), "https://events.acme.com/er/v1/schemas"; got != want {
		t.Errorf("Catalog = %q, want %q", got, want)
	}
	id, err := ID(order, b.URL(order+"/v3"))
	if err != nil || id != order+"/v3" {
		t.Errorf("ID(URL) = %q, %v", id, err)
	}
}

// FuzzID: ID never panics, and what it accepts names the event's type and
// round-trips through a canonical URL.
func FuzzID(f *testing.F) {
	for _, s := range []string{"com.acme.order.created/v1", "http://h/v1/schemas/com.acme.order.created/v2", "urn:a", "a/v1", "https://h/%zz", "http://[::1/x/v1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ds string) {
		id, err := ID(order, ds)
		if err != nil {
			return
		}
		if !strings.HasPrefix(id, order+"/v") {
			t.Fatalf("ID(%q) = %q: not of type %s", ds, id, order)
		}
		if again, err := ID(order, Base("http://h").URL(id)); err != nil || again != id {
			t.Fatalf("ID(URL(%q)) = %q, %v", id, again, err)
		}
	})
}
