package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// The documents of runnertest's Order v1 and v2, laid out like schemas/.
var orderFiles = fstest.MapFS{
	"com.acme.order.created/v1.json": {Data: []byte(`{
  "$id": "com.acme.order.created/v1",
  "description": "An order.",
  "type": "object",
  "required": ["id", "amount"],
  "properties": {"id": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}, "ref": {"$id": "inner", "type": "string"}}
}
`)},
	"com.acme.order.created/v2.json": {Data: []byte(`{"type":"object","$id" : "com.acme.order.created/v2","properties":{"currency":{"type":"string"}}}`)},
}

func schemaServer(t *testing.T) *httptest.Server {
	t.Helper()
	api, err := newSchemaAPI(runnertest.Registry(), orderFiles, "https://events.acme.com/er")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.register(mux)
	srv := httptest.NewServer(problemFallback(mux))
	t.Cleanup(srv.Close)
	return srv
}

func request(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestSchemaCatalog(t *testing.T) {
	srv := schemaServer(t)
	resp, body := request(t, "GET", srv.URL+"/v1/schemas", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET /v1/schemas: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	var cat SchemaCatalog
	if err := json.Unmarshal([]byte(body), &cat); err != nil {
		t.Fatal(err)
	}
	const url = "https://events.acme.com/er/v1/schemas/com.acme.order.created/"
	want := SchemaCatalog{Bundle: "bundle-test", Types: []SchemaTypes{{Type: "com.acme.order.created", Latest: url + "v2", Versions: []SchemaVersion{
		{Version: 1, ID: "com.acme.order.created/v1", URL: url + "v1", Hash: "test-v1", Description: "An order."},
		{Version: 2, ID: "com.acme.order.created/v2", URL: url + "v2", Hash: "test-v2"},
	}}}}
	got, _ := json.Marshal(cat)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("catalog\n%s\nwant\n%s", got, w)
	}
	if r, b := request(t, "GET", srv.URL+"/v1/schemas", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); r.StatusCode != 304 || b != "" {
		t.Errorf("catalog revalidation: %d %q", r.StatusCode, b)
	}
}

func TestSchemaDocument(t *testing.T) {
	srv := schemaServer(t)
	const url = "https://events.acme.com/er/v1/schemas/com.acme.order.created/v1"
	resp, body := request(t, "GET", srv.URL+"/v1/schemas/com.acme.order.created/v1", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != SchemaContentType || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET v1: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	// The file byte for byte, but its $id is the URL it is served at (a
	// nested $id stays).
	src, _ := orderFiles.ReadFile("com.acme.order.created/v1.json")
	if want := strings.Replace(string(src), `"$id": "com.acme.order.created/v1"`, `"$id": "`+url+`"`, 1); body != want {
		t.Errorf("document\n%s\nwant\n%s", body, want)
	}
	resp2, body2 := request(t, "GET", srv.URL+"/v1/schemas/com.acme.order.created/v2", nil)
	if resp2.StatusCode != 200 || body2 != `{"type":"object","$id" : "https://events.acme.com/er/v1/schemas/com.acme.order.created/v2","properties":{"currency":{"type":"string"}}}` {
		t.Errorf("GET v2: %d\n%s", resp2.StatusCode, body2)
	}
	if resp2.Header.Get("ETag") == etag {
		t.Error("v1 and v2 share an ETag")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		r, b := request(t, "GET", srv.URL+"/v1/schemas/com.acme.order.created/v1", map[string]string{"If-None-Match": inm})
		if r.StatusCode != 304 || b != "" || r.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %v %q", inm, r.StatusCode, r.Header, b)
		}
	}
	if r, b := request(t, "GET", srv.URL+"/v1/schemas/com.acme.order.created/v1", map[string]string{"If-None-Match": `"other"`}); r.StatusCode != 200 || b != body {
		t.Errorf("If-None-Match other: %d", r.StatusCode)
	}
	if r, b := request(t, "HEAD", srv.URL+"/v1/schemas/com.acme.order.created/v1", nil); r.StatusCode != 200 || b != "" || r.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d %v %q", r.StatusCode, r.Header, b)
	}
}

func TestSchemaNotFound(t *testing.T) {
	srv := schemaServer(t)
	for _, tc := range []struct {
		path, method string
		status       int
		field        string
		detail       string
	}{
		{"/v1/schemas/com.acme.refund.issued/v1", "GET", 404, "type", `no schema for event type "com.acme.refund.issued" in this bundle; the catalog is https://events.acme.com/er/v1/schemas`},
		{"/v1/schemas/com.acme.order.created/v3", "GET", 404, "version", `com.acme.order.created has no schema version "v3" in this bundle; it has v1, v2`},
		{"/v1/schemas/com.acme.order.created/1", "GET", 404, "version", `has no schema version "1"`},
		{"/v1/schemas/com.acme.order.created", "GET", 404, "path", "no route"},
		{"/v1/schemas/com.acme.order.created/v1", "PUT", 405, "method", "use GET, HEAD"},
	} {
		r, body := request(t, tc.method, srv.URL+tc.path, nil)
		var p problem.Problem
		if err := json.Unmarshal([]byte(body), &p); err != nil || r.StatusCode != tc.status || r.Header.Get("Content-Type") != problem.ContentType ||
			p.Status != tc.status || p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s %s: %d %s %s\nwant %d field %q detail containing %q", tc.method, tc.path, r.StatusCode, r.Header.Get("Content-Type"), body, tc.status, tc.field, tc.detail)
		}
	}
}

// TestSchemaAPIRefusesMissingDocuments: a compiled version without its
// document, or with another $id, stops the start.
func TestSchemaAPIRefusesMissingDocuments(t *testing.T) {
	v1 := orderFiles["com.acme.order.created/v1.json"]
	for name, tc := range map[string]struct {
		files fstest.MapFS
		err   string
	}{
		"missing":  {fstest.MapFS{"com.acme.order.created/v1.json": v1}, "schema com.acme.order.created/v2: document: open com.acme.order.created/v2.json: file does not exist"},
		"other id": {fstest.MapFS{"com.acme.order.created/v1.json": v1, "com.acme.order.created/v2.json": {Data: []byte(`{"$id":"com.acme.order.created/v3"}`)}}, `has $id "com.acme.order.created/v3": not the compiled schema`},
		"not json": {fstest.MapFS{"com.acme.order.created/v1.json": v1, "com.acme.order.created/v2.json": {Data: []byte(`{"$id":`)}}, "schema com.acme.order.created/v2: document schemas/com.acme.order.created/v2.json: unexpected end of JSON input"},
	} {
		if _, err := newSchemaAPI(runnertest.Registry(), tc.files, "http://h"); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: newSchemaAPI = %v, want %q", name, err, tc.err)
		}
	}
	if _, err := newSchemaAPI(runnertest.Registry(), nil, "http://h"); err == nil {
		t.Error("no files: no error")
	}
}

// TestAppSchemaBase: a started App derives its base from the bound HTTP
// address (port 0 included) and serves the schemas there without an API
// key; a configured base is checked with the flag named.
func TestAppSchemaBase(t *testing.T) {
	a := startProbeApp(t)
	if want := "http://" + a.HTTPAddr(); a.SchemaBase() != want {
		t.Errorf("SchemaBase = %q, want %q", a.SchemaBase(), want)
	}
	resp, body := request(t, "GET", a.SchemaBase()+"/v1/schemas/com.acme.order.created/v2", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"$id" : "`+a.SchemaBase()+`/v1/schemas/com.acme.order.created/v2"`) {
		t.Errorf("GET without a key: %d %s", resp.StatusCode, body)
	}
	for raw, want := range map[string]string{
		"":                           "",
		"https://events.acme.com/":   "",
		"events.acme.com":            `schema-base-url: schema base URL "events.acme.com": must be an absolute http:// or https:// URL`,
		"https://events.acme.com/?x": "schema-base-url: ",
	} {
		err := Config{SchemaBaseURL: raw}.Defaults().Check()
		if (want == "" && err != nil) || (want != "" && (err == nil || !strings.Contains(err.Error(), want))) {
			t.Errorf("Check(schema-base-url %q) = %v, want %q", raw, err, want)
		}
	}
}
