// Package schema loads schemas/**.json into ir, refusing anything outside the
// supported JSON Schema subset with file:line:col diagnostics.
//
// The subset (DESIGN.md §3) is what the generated structs, codecs and
// validators implement exactly; everything else is refused by name rather
// than ignored, so a schema never promises a check the engine does not make.
package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// Load reads every root/schemas/**/*.json in path order and returns the
// schemas that loaded without error, sorted by event type and version.
// Every problem is recorded in l.
func Load(root string, l *diag.List) []*ir.Schema {
	dir := filepath.Join(root, "schemas")
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.Errorf(diag.Pos{}, "read schemas: %v", err)
		return nil
	}
	sort.Strings(rels)
	ld := NewLoader(l)
	for _, rel := range rels {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			l.Errorf(diag.Pos{File: diag.NewFile(rel, nil)}, "read schema: %v", err)
			continue
		}
		ld.File(diag.NewFile(rel, src))
	}
	return ld.Schemas()
}

// Loader checks schema files one by one, keeping the package-level Go names
// they declare so that collisions across files are reported.
type Loader struct {
	l       *diag.List
	schemas []*ir.Schema
	idents  map[string]identUse
	stems   map[string]diag.Pos
}

type identUse struct {
	what string
	pos  diag.Pos
}

// NewLoader returns a Loader recording diagnostics in l.
func NewLoader(l *diag.List) *Loader {
	ld := &Loader{l: l, idents: map[string]identUse{}, stems: map[string]diag.Pos{}}
	for _, id := range reservedIdents {
		ld.idents[id] = identUse{what: "the generated registry"}
	}
	return ld
}

// Schemas returns the schemas loaded so far, sorted by type and version.
func (ld *Loader) Schemas() []*ir.Schema {
	out := append([]*ir.Schema(nil), ld.schemas...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// pathRE is the shape of a schema path; the event type is checked segment by
// segment for a precise message.
var (
	pathRE    = regexp.MustCompile(`^schemas/([^/]+)/v([0-9]+)\.json$`)
	segmentRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// File checks one schema file and, when it has no error, adds its schema.
func (ld *Loader) File(f *diag.File) *ir.Schema {
	errsBefore := ld.errorCount()
	fl := &fileLoader{Loader: ld, f: f}
	s := fl.load()
	if s == nil || ld.errorCount() > errsBefore {
		return nil
	}
	ld.schemas = append(ld.schemas, s)
	return s
}

func (ld *Loader) errorCount() int {
	n := 0
	for _, d := range ld.l.Sorted() {
		if d.Severity == diag.Error {
			n++
		}
	}
	return n
}

// claim records a package-level Go name, refusing one already in use.
func (ld *Loader) claim(name, what string, pos diag.Pos) bool {
	if prev, ok := ld.idents[name]; ok {
		where := prev.what
		if prev.pos.File != nil {
			where += " at " + prev.pos.String()
		}
		ld.l.Errorf(pos, "Go name %q of %s is already used by %s", name, what, where).
			WithHint(`rename with "x-go-name"`)
		return false
	}
	ld.idents[name] = identUse{what: what, pos: pos}
	return true
}

// fileLoader checks one file.
type fileLoader struct {
	*Loader
	f  *diag.File
	id string // the schema's ID, once known
}

func (fl *fileLoader) pos(off int) diag.Pos { return diag.Pos{File: fl.f, Offset: off} }

// errf records an error about the schema at where (a property path such as
// "customer.email" or "items[]", empty for the top level).
func (fl *fileLoader) errf(where string, off int, format string, args ...any) *diag.Diagnostic {
	if where != "" {
		format = "property %q: " + format
		args = append([]any{where}, args...)
	}
	return fl.l.Errorf(fl.pos(off), format, args...)
}

func (fl *fileLoader) load() *ir.Schema {
	root, err := parseJSON(fl.f.Src)
	if err != nil {
		var je *jsonError
		errors.As(err, &je)
		fl.l.Errorf(fl.pos(je.off), "invalid JSON: %s", je.msg)
		return nil
	}
	fl.checkDuplicates(root)
	eventType, version, pathOK := fl.checkPath()
	if root.kind != jsonObject {
		fl.errf("", root.off, "a schema must be a JSON object, got %s", root.kind)
		return nil
	}
	sum := sha256.Sum256(canonical(nil, root))
	s := &ir.Schema{
		Type:    eventType,
		Version: version,
		File:    fl.f.Path,
		Hash:    hex.EncodeToString(sum[:]),
		Pos:     fl.pos(root.off),
	}
	s.ID = eventType + "/v" + strconv.Itoa(version)
	idOff := fl.checkID(root, s.ID, pathOK)
	if m := root.get("x-breaking"); m != nil {
		if m.value.kind != jsonBool {
			fl.errf("", m.value.off, `"x-breaking" must be a boolean, got %s`, m.value.kind)
		}
		s.Breaking = m.value.boolean
	}
	if m := root.get("type"); m != nil && m.value.kind == jsonString && m.value.text != "object" {
		fl.errf("", m.value.off, `top-level "type" must be "object", got %q`, m.value.text)
		return nil
	}
	s.GoName = factGoName(eventType, strconv.Itoa(version))
	namePos := fl.pos(idOff)
	if m := root.get("x-go-name"); m != nil {
		if name, ok := fl.xGoName("", m); ok {
			s.GoName = name
		}
		namePos = fl.pos(m.value.off)
	} else if !isExportedIdent(s.GoName) && pathOK {
		fl.errf("", idOff, "cannot derive a Go type name from event type %q (got %q)", eventType, s.GoName).
			WithHint(`name the fact type with a top-level "x-go-name"`)
		return nil
	}
	if !pathOK {
		// Still report what is wrong inside, but keep the names of a
		// misplaced file out of the package's name table.
		scratch := &fileLoader{Loader: NewLoader(fl.l), f: fl.f}
		scratch.schemaType(root, "", "", "Schema", true)
		return nil
	}
	fl.id = s.ID
	t := fl.schemaType(root, "", "", s.GoName, true)
	if t == nil || t.Kind != ir.Object {
		return nil
	}
	if use := fl.idents[s.GoName]; use.pos.File != fl.f {
		// The fact type's name is taken: its other names would only
		// repeat the collision.
		return nil
	}
	s.Root = t.Object
	s.Description = t.Object.Description
	fl.claim(s.GoName+"Schema", "the schema variable of "+s.ID, namePos)
	s.FileStem = fileStem(s.GoName)
	if prev, ok := fl.stems[s.FileStem]; ok {
		fl.errf("", namePos.Offset, "generated file name %q is already used by the schema at %s", s.FileStem, prev).
			WithHint(`rename the fact type with "x-go-name"`)
	}
	fl.stems[s.FileStem] = namePos
	return s
}

// checkPath checks that the file is schemas/<type>/v<N>.json with a valid
// event type and returns them.
func (fl *fileLoader) checkPath() (eventType string, version int, ok bool) {
	m := pathRE.FindStringSubmatch(fl.f.Path)
	if m == nil {
		fl.l.Errorf(fl.pos(0), "schema path must be schemas/<event type>/v<N>.json, got %s", fl.f.Path)
		return "", 0, false
	}
	eventType = m[1]
	ok = true
	for _, seg := range strings.Split(eventType, ".") {
		if !segmentRE.MatchString(seg) {
			fl.l.Errorf(fl.pos(0), "event type %q: segment %q must match [a-z0-9][a-z0-9_-]*", eventType, seg).
				WithHint("event types are dotted lower-case names such as com.acme.order.created")
			ok = false
			break
		}
	}
	v, err := strconv.Atoi(m[2])
	if err != nil || v < 1 || m[2][0] == '0' {
		fl.l.Errorf(fl.pos(0), "schema version must be a positive integer without leading zeros, got v%s", m[2])
		return eventType, 0, false
	}
	return eventType, v, ok
}

// checkID checks "$id" against the path and returns the offset naming the
// schema in diagnostics.
func (fl *fileLoader) checkID(root *node, want string, pathOK bool) int {
	m := root.get("$id")
	if m == nil {
		d := fl.errf("", root.off, `missing "$id"`)
		if pathOK {
			d.WithHint(`add "$id": "` + want + `"`)
		}
		return root.off
	}
	if m.value.kind != jsonString {
		fl.errf("", m.value.off, `"$id" must be a string, got %s`, m.value.kind)
		return m.value.off
	}
	if pathOK && m.value.text != want {
		fl.errf("", m.value.off, `"$id" %q does not match the file path %s`, m.value.text, path.Clean(fl.f.Path)).
			WithHint(`use "$id": "` + want + `" or move the file to schemas/` + idToPath(m.value.text))
	}
	return m.value.off
}

func idToPath(id string) string {
	t, v, ok := strings.Cut(id, "/")
	if !ok {
		return id + "/v1.json"
	}
	return t + "/" + v + ".json"
}

// checkDuplicates refuses duplicate keys anywhere in the file: JSON leaves
// their meaning open and a schema author almost always made a mistake.
func (fl *fileLoader) checkDuplicates(n *node) {
	switch n.kind {
	case jsonObject:
		seen := map[string]bool{}
		for _, m := range n.members {
			if seen[m.key] {
				fl.l.Errorf(fl.pos(m.keyOff), "duplicate key %q", m.key)
			}
			seen[m.key] = true
			fl.checkDuplicates(m.value)
		}
	case jsonArray:
		for _, e := range n.elems {
			fl.checkDuplicates(e)
		}
	}
}

// xGoName checks an x-go-name value.
func (fl *fileLoader) xGoName(where string, m *member) (string, bool) {
	v := m.value
	if v.kind != jsonString {
		fl.errf(where, v.off, `"x-go-name" must be a string, got %s`, v.kind)
		return "", false
	}
	if !isExportedIdent(v.text) {
		fl.errf(where, v.off, `"x-go-name" %q is not an exported Go identifier`, v.text).
			WithHint("start with an upper-case letter; use letters, digits and _")
		return "", false
	}
	return v.text, true
}
