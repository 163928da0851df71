package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// The schema API serves the bundle's JSON Schema documents at the URLs that
// are the canonical dataschema of events: GET /v1/schemas (the catalog)
// and GET /v1/schemas/{type}/v{N} (one version).
//
// It asks for no API key, like /healthz and /metrics and unlike the
// tenants' events: a schema belongs to the bundle, the same for every
// tenant and compiled into the binary (its hash is in the image's
// version), and a dataschema URL is meant to be dereferenced by tools
// (JSON Schema validators resolving $id, SDKs, browsers) that send no
// credentials. Every role serves it.

// SchemaCatalog is the body of GET /v1/schemas.
type SchemaCatalog struct {
	// Bundle is the bundle hash of the engine serving it.
	Bundle string        `json:"bundle"`
	Types  []SchemaTypes `json:"types"`
}

// SchemaTypes lists the versions of one event type, oldest first.
type SchemaTypes struct {
	Type string `json:"type"`
	// Latest is the URL of the newest version, which an event without
	// dataschema is validated against.
	Latest   string          `json:"latest"`
	Versions []SchemaVersion `json:"versions"`
}

// SchemaVersion is one schema version.
type SchemaVersion struct {
	Version int `json:"version"`
	// ID is the short form, "<type>/v<N>", the schema file's $id.
	ID string `json:"id"`
	// URL is the canonical dataschema; the document is served there.
	URL string `json:"url"`
	// Hash is the SHA-256 of the schema's canonical JSON (schemas.lock).
	Hash        string `json:"hash"`
	Description string `json:"description,omitempty"`
}

// SchemaContentType is the media type of a JSON Schema document.
const SchemaContentType = "application/schema+json"

// A served reply: a fixed body with its strong ETag.
type served struct {
	body        []byte
	etag        string
	contentType string
}

func newServed(body []byte, contentType string) served {
	sum := sha256.Sum256(body)
	return served{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: contentType}
}

type schemaAPI struct {
	base     dataschema.Base
	catalog  served
	docs     map[string]served   // by schema ID
	versions map[string][]string // "v<N>" by type, for errors
}

// newSchemaAPI prepares every reply once: the catalog and each version's
// document read from files (the schemas/ directory: <type>/v<N>.json) with
// its $id made the absolute URL it is served at, so that a validator
// resolving references against it finds the same URL. A compiled version
// without its document is an error: the binary was built from another tree.
func newSchemaAPI(reg *rules.Registry, files fs.FS, base dataschema.Base) (*schemaAPI, error) {
	if files == nil {
		return nil, fmt.Errorf("schema documents: none given (Config.SchemaFiles)")
	}
	api := &schemaAPI{base: base, docs: map[string]served{}, versions: map[string][]string{}}
	cat := SchemaCatalog{Bundle: reg.BundleHash, Types: []SchemaTypes{}}
	byType := map[string]*SchemaTypes{}
	for _, s := range reg.Schemas() {
		doc, desc, err := schemaDocument(files, s, base.URL(s.ID))
		if err != nil {
			return nil, err
		}
		api.docs[s.ID] = newServed(doc, SchemaContentType)
		api.versions[s.Type] = append(api.versions[s.Type], "v"+strconv.Itoa(s.Version))
		t := byType[s.Type]
		if t == nil {
			cat.Types = append(cat.Types, SchemaTypes{Type: s.Type})
			t = &cat.Types[len(cat.Types)-1]
			byType[s.Type] = t
		}
		t.Versions = append(t.Versions, SchemaVersion{Version: s.Version, ID: s.ID, URL: base.URL(s.ID), Hash: s.Hash, Description: desc})
	}
	sort.Slice(cat.Types, func(i, j int) bool { return cat.Types[i].Type < cat.Types[j].Type })
	for i := range cat.Types {
		t := &cat.Types[i]
		sort.Slice(t.Versions, func(a, b int) bool { return t.Versions[a].Version < t.Versions[b].Version })
		t.Latest = t.Versions[len(t.Versions)-1].URL
	}
	body, err := json.MarshalIndent(cat, "", "  ")
	if err != nil {
		return nil, err
	}
	api.catalog = newServed(append(body, '\n'), "application/json")
	return api, nil
}

// schemaDocument reads the file of s and sets its $id to url; it returns
// the document and its top-level description.
func schemaDocument(files fs.FS, s *rules.Schema, url string) ([]byte, string, error) {
	name, ok := strings.CutPrefix(s.File, "schemas/")
	if !ok {
		return nil, "", fmt.Errorf("schema %s: file %q is not under schemas/", s.ID, s.File)
	}
	src, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, "", fmt.Errorf("schema %s: document: %w", s.ID, err)
	}
	var top struct {
		ID          string `json:"$id"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(src, &top); err != nil {
		return nil, "", fmt.Errorf("schema %s: document %s: %w", s.ID, s.File, err)
	}
	if top.ID != s.ID {
		return nil, "", fmt.Errorf("schema %s: document %s has $id %q: not the compiled schema (run go generate)", s.ID, s.File, top.ID)
	}
	doc, err := replaceID(src, url)
	if err != nil {
		return nil, "", fmt.Errorf("schema %s: document %s: %w", s.ID, s.File, err)
	}
	return doc, top.Description, nil
}

// replaceID returns doc with the value of its top-level "$id" member
// replaced by id, every other byte as it was (the file's layout and key
// order stay readable).
func replaceID(doc []byte, id string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		afterKey := dec.InputOffset()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if key != "$id" {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(v) // the decoder stops right after the value
		if !bytes.Equal(doc[start:end], v) || start < int(afterKey) {
			return nil, fmt.Errorf("cannot locate $id")
		}
		quoted, err := json.Marshal(id)
		if err != nil {
			return nil, err
		}
		out := append(append(append([]byte{}, doc[:start]...), quoted...), doc[end:]...)
		return out, nil
	}
	return nil, fmt.Errorf("no $id")
}

func (api *schemaAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+dataschema.Path, func(w http.ResponseWriter, r *http.Request) {
		// The catalog changes with the bundle: revalidate (cheap, ETag).
		serve(w, r, api.catalog, "no-cache")
	})
	mux.HandleFunc("GET "+dataschema.Path+"/{type}/{version}", api.document)
}

// document answers one version; a published version never changes (the
// lock file refuses edits), so it may be cached.
func (api *schemaAPI) document(w http.ResponseWriter, r *http.Request) {
	typ, version := r.PathValue("type"), r.PathValue("version")
	versions, ok := api.versions[typ]
	if !ok {
		problem.Write(w, problem.New(http.StatusNotFound, "type",
			fmt.Sprintf("no schema for event type %q in this bundle; the catalog is %s", typ, api.base.Catalog())))
		return
	}
	d, ok := api.docs[typ+"/"+version]
	if !ok {
		problem.Write(w, problem.New(http.StatusNotFound, "version",
			fmt.Sprintf("%s has no schema version %q in this bundle; it has %s", typ, version, strings.Join(versions, ", "))))
		return
	}
	serve(w, r, d, "public, max-age=3600")
}

// serve writes d, or 304 Not Modified when If-None-Match names its ETag
// (weak comparison, as RFC 9110 has it for If-None-Match) or is "*".
func serve(w http.ResponseWriter, r *http.Request, d served, cacheControl string) {
	h := w.Header()
	h.Set("ETag", d.etag)
	h.Set("Cache-Control", cacheControl)
	if inm := r.Header.Get("If-None-Match"); inm != "" && noneMatch(inm, d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", d.contentType)
	h.Set("Content-Length", strconv.Itoa(len(d.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.body) // nothing is written for HEAD
}

// noneMatch reports whether the If-None-Match list names etag.
func noneMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
