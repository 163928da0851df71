package evolve

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// DefaultLockPath is where the repository keeps its lock, relative to the
// root. It sits beside the schemas it records.
const DefaultLockPath = "schemas/schemas.lock"

// lockHeader opens every lock file go generate writes.
const lockHeader = `# Published schema versions and the SHA-256 of their canonical JSON.
# Written by go generate (eventgen -lock); see docs/schemas.md.
# A listed version is immutable: go generate and eventrunner check refuse an
# edit. Publish a change as a new version v<N+1> instead.
`

// Entry is one published version.
type Entry struct {
	ID   string // "<type>/v<N>"
	Hash string // hex SHA-256, as ir.Schema.Hash
	Pos  diag.Pos
}

// Lock is the set of published schema versions.
type Lock struct {
	Path    string // relative to the repository root
	Entries map[string]Entry
}

var (
	lockLineRE = regexp.MustCompile(`^(\S+)\s+sha256:([0-9a-f]{64})$`)
	lockIDRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*/v[1-9][0-9]*$`)
)

// ReadLock reads root/path. A missing file is an empty lock: nothing is
// published yet. Malformed lines are reported in l.
func ReadLock(root, path string, l *diag.List) *Lock {
	lk := &Lock{Path: path, Entries: map[string]Entry{}}
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if errors.Is(err, fs.ErrNotExist) {
		return lk
	}
	if err != nil {
		l.Errorf(diag.Pos{File: diag.NewFile(path, nil)}, "read schema lock: %v", err)
		return lk
	}
	lk.parse(diag.NewFile(path, src), l)
	return lk
}

// ParseLock reads a lock from memory (e.g. a base revision's).
func ParseLock(path string, src []byte, l *diag.List) *Lock {
	lk := &Lock{Path: path, Entries: map[string]Entry{}}
	lk.parse(diag.NewFile(path, src), l)
	return lk
}

func (lk *Lock) parse(f *diag.File, l *diag.List) {
	off := 0
	for _, line := range strings.SplitAfter(string(f.Src), "\n") {
		pos := diag.Pos{File: f, Offset: off}
		off += len(line)
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		m := lockLineRE.FindStringSubmatch(text)
		if m == nil {
			l.Errorf(pos, "malformed lock line %q", text).WithHint("each line is <type>/v<N> sha256:<64 hex digits>")
			continue
		}
		if !lockIDRE.MatchString(m[1]) {
			l.Errorf(pos, "malformed schema ID %q in lock", m[1])
			continue
		}
		if prev, dup := lk.Entries[m[1]]; dup {
			l.Errorf(pos, "schema %s is listed twice (first at %s)", m[1], prev.Pos)
			continue
		}
		lk.Entries[m[1]] = Entry{ID: m[1], Hash: m[2], Pos: pos}
	}
}

// Has reports whether id is published.
func (lk *Lock) Has(id string) bool {
	if lk == nil {
		return false
	}
	_, ok := lk.Entries[id]
	return ok
}

// Check is the generator's evolution stage. With a lock it refuses an edited
// or deleted published version; for every version the lock does not list
// (every version when lock is nil) it refuses a breaking change from the
// previous version of its type unless the version declares "x-breaking".
// root is needed to tell a deleted schema file from one that failed to load.
func Check(root string, schemas []*ir.Schema, lock *Lock, l *diag.List) {
	if lock != nil {
		checkPublished(root, schemas, lock, l)
	}
	for _, p := range Pairs(schemas) {
		if lock.Has(p.New.ID) || p.New.Breaking {
			continue
		}
		for _, c := range Compare(p.Old, p.New) {
			if !c.Breaking {
				continue
			}
			d := l.Errorf(c.Pos, "%s is not backward compatible with %s: %s", p.New.ID, p.Old.ID, c)
			hint := `declare "x-breaking": true at the top level to publish a breaking version`
			if c.Hint != "" {
				hint = c.Hint + "; " + hint
			}
			d.WithHint(hint)
		}
	}
}

func checkPublished(root string, schemas []*ir.Schema, lock *Lock, l *diag.List) {
	byID := map[string]*ir.Schema{}
	for _, s := range schemas {
		byID[s.ID] = s
	}
	for _, id := range lock.IDs() {
		e := lock.Entries[id]
		s := byID[id]
		if s == nil {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(SchemaPath(id)))); err == nil {
				continue // present but refused by the schema loader, which said why
			}
			l.Errorf(e.Pos, "published schema %s is missing: %s was deleted", id, SchemaPath(id)).
				WithHint("published versions are immutable; restore the file (to retire the version on purpose, delete this line too and expect eventrunner check --base to report the removal)")
			continue
		}
		if s.Hash != e.Hash {
			l.Errorf(s.Pos, "schema %s is published and must not change: %s records sha256:%s…, the file now hashes to sha256:%s…", id, lock.Path, e.Hash[:12], s.Hash[:12]).
				WithHint("publish the change as a new version (" + nextPath(s) + "); if " + id + " was only added on this branch and never merged, delete its line from " + lock.Path + " and run go generate again")
		}
	}
}

// SchemaPath is the file of a schema ID.
func SchemaPath(id string) string {
	t, v, _ := strings.Cut(id, "/")
	return "schemas/" + t + "/" + v + ".json"
}

func nextPath(s *ir.Schema) string {
	return "schemas/" + s.Type + "/v" + strconv.Itoa(s.Version+1) + ".json"
}

// IDs lists the published IDs in order.
func (lk *Lock) IDs() []string {
	ids := make([]string, 0, len(lk.Entries))
	for id := range lk.Entries {
		ids = append(ids, id)
	}
	sortIDs(ids)
	return ids
}

// Updated returns the lock file listing every entry of lk plus every schema
// (go generate calls it only after a run without errors, so every schema
// either matches its entry or is new). Lines are sorted by type then
// version number, so the file is deterministic and diffs stay small.
func (lk *Lock) Updated(schemas []*ir.Schema) []byte {
	hashes := map[string]string{}
	for id, e := range lk.Entries {
		hashes[id] = e.Hash
	}
	for _, s := range schemas {
		if _, ok := hashes[s.ID]; !ok {
			hashes[s.ID] = s.Hash
		}
	}
	ids := make([]string, 0, len(hashes))
	for id := range hashes {
		ids = append(ids, id)
	}
	sortIDs(ids)
	var b bytes.Buffer
	b.WriteString(lockHeader)
	for _, id := range ids {
		b.WriteString(id + " sha256:" + hashes[id] + "\n")
	}
	return b.Bytes()
}

// sortIDs orders schema IDs by event type, then numerically by version.
func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		ti, vi := splitID(ids[i])
		tj, vj := splitID(ids[j])
		if ti != tj {
			return ti < tj
		}
		return vi < vj
	})
}

func splitID(id string) (string, int) {
	t, v, _ := strings.Cut(id, "/v")
	n, _ := strconv.Atoi(v)
	return t, n
}

// Pair is a schema version and the version before it.
type Pair struct{ Old, New *ir.Schema }

// Pairs lists, for every version that has an earlier version of the same
// type, that version and the highest earlier one. schemas must be sorted
// by type and version, as the schema loader returns them.
func Pairs(schemas []*ir.Schema) []Pair {
	var out []Pair
	for i := 1; i < len(schemas); i++ {
		if schemas[i-1].Type == schemas[i].Type {
			out = append(out, Pair{Old: schemas[i-1], New: schemas[i]})
		}
	}
	return out
}
