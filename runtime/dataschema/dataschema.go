package dataschema

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Path is where the HTTP API serves the schema catalog; a schema version
// is at Path + "/<type>/v<N>".
const Path = "/v1/schemas"

// Base is the absolute URL of the HTTP API as producers and consumers
// reach it (scheme, host, optional path prefix; no trailing slash), the
// prefix of every canonical dataschema. The zero value means none: events
// keep the dataschema they came with.
type Base string

// ParseBase checks raw as a base: an absolute http or https URL with a
// host and without query, fragment or user info. A trailing slash is
// dropped.
func ParseBase(raw string) (Base, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("schema base URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("schema base URL %q: must be an absolute http:// or https:// URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("schema base URL %q: must name a host", raw)
	case u.User != nil:
		return "", fmt.Errorf("schema base URL %q: must not carry user info (it is published in every event)", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", fmt.Errorf("schema base URL %q: must not have a query or fragment", raw)
	}
	return Base(strings.TrimRight(raw, "/")), nil
}

// BaseFromAddr is the default base of an HTTP API listening on addr
// (host:port): http://host:port. An unspecified host (":8080",
// "0.0.0.0:8080", "[::]:8080") becomes localhost; wildcard reports that,
// since such URLs only work on the machine itself.
func BaseFromAddr(addr string) (b Base, wildcard bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("schema base URL from HTTP address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, wildcard = "localhost", true
	}
	return Base("http://" + net.JoinHostPort(host, port)), wildcard, nil
}

// URL is the canonical dataschema of the schema version id ("<type>/v<N>").
func (b Base) URL(id string) string { return string(b) + Path + "/" + id }

// Catalog is the URL of the schema catalog.
func (b Base) Catalog() string { return string(b) + Path }

// ID returns the schema version ("<type>/v<N>") that the dataschema value
// ds of an event of eventType names. Accepted are the short form
// "<type>/v<N>" (a schema's $id) and any absolute URI whose path ends in
// "/<type>/v<N>", among them every eventrunner's canonical URL
// <base>/v1/schemas/<type>/v<N> whatever its base. The type must be
// eventType; N a positive decimal without leading zeros. The error says
// what is wrong; callers name the attribute.
func ID(eventType, ds string) (string, error) {
	path := ds
	if isShort(ds) {
		if strings.Count(ds, "/") != 1 {
			return "", errForm(ds)
		}
	} else {
		u, err := url.Parse(ds)
		switch {
		case err != nil || u.Scheme == "" || u.Opaque != "":
			return "", errForm(ds)
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(ds, "?#"):
			return "", fmt.Errorf("%q: a schema URI has a path ending in /<type>/v<N>, without query or fragment", truncate(ds))
		}
		path = u.Path
	}
	typ, version, ok := split(path)
	if !ok {
		return "", errForm(ds)
	}
	if typ != eventType {
		return "", fmt.Errorf("%q names a schema of type %q, but the event's type is %q", truncate(ds), typ, eventType)
	}
	return typ + "/v" + strconv.Itoa(version), nil
}

// isShort reports whether ds has no scheme, so is meant as the short form.
func isShort(ds string) bool {
	i := strings.IndexAny(ds, ":/")
	return i < 0 || ds[i] == '/'
}

// split cuts ".../<type>/v<N>" into its last two segments.
func split(path string) (typ string, version int, ok bool) {
	rest, v, found := cutLast(path, "/")
	if !found || len(v) < 2 || v[0] != 'v' || v[1] == '0' {
		return "", 0, false
	}
	for _, c := range v[1:] {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	n, err := strconv.Atoi(v[1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	_, typ, _ = cutLast(rest, "/")
	if typ == "" {
		return "", 0, false
	}
	return typ, n, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+len(sep):], true
}

func errForm(ds string) error {
	return fmt.Errorf("%q: must be <type>/v<N> or an absolute URI ending in /<type>/v<N> (such as this engine's %s/<type>/v<N>)", truncate(ds), Path)
}

func truncate(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + "…"
}
