package evolve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/schema"
)

// v1 is the previous version every case of TestCompare evolves.
const v1 = `{
  "$id": "com.example.thing/v1",
  "type": "object",
  "required": ["id", "kind"],
  "properties": {
    "id": {"type": "string", "format": "uuid"},
    "kind": {"type": "string", "enum": ["a", "b"]},
    "count": {"type": "integer", "minimum": 0, "maximum": 10},
    "name": {"type": "string", "maxLength": 20, "pattern": "^[a-z]+$"},
    "tags": {"type": "array", "maxItems": 5, "items": {"type": "string"}},
    "owner": {"type": "object", "additionalProperties": false, "properties": {"email": {"type": "string"}}}
  }
}`

// loadSchema loads one schema from memory; edits replace text in src.
func loadSchema(t *testing.T, version int, src string, edits ...string) *ir.Schema {
	t.Helper()
	src = strings.Replace(src, "/v1", fmt.Sprintf("/v%d", version), 1)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(src, edits[i]) {
			t.Fatalf("edit %q does not apply", edits[i])
		}
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	var l diag.List
	s := schema.NewLoader(&l).File(diag.NewFile(fmt.Sprintf("schemas/com.example.thing/v%d.json", version), []byte(src)))
	if err := l.Err(); err != nil || s == nil {
		t.Fatalf("load v%d: %v", version, err)
	}
	return s
}

func TestCompare(t *testing.T) {
	cases := []struct {
		name  string
		edits []string
		want  []string // "BREAKING ..." or "ok ..."
	}{
		{"identical", nil, nil},
		{"description only", []string{`"type": "object",`, `"type": "object", "description": "Things.",`}, nil},
		{"add optional", []string{`"id": {`, `"color": {"type": "string"}, "id": {`},
			[]string{`ok property "color": added (optional string)`}},
		{"add required", []string{`"required": ["id", "kind"]`, `"required": ["id", "kind", "color"]`, `"id": {`, `"color": {"type": "string"}, "id": {`},
			[]string{`BREAKING property "color": added as required: data written for the previous version lacks it`}},
		{"remove", []string{`"count": {"type": "integer", "minimum": 0, "maximum": 10},`, ``},
			[]string{`BREAKING property "count": removed (it was optional integer)`}},
		{"rename", []string{`"count": {"type": "integer"`, `"total": {"type": "integer"`},
			[]string{`BREAKING property "count": removed (it was optional integer)`, `ok property "total": added (optional integer)`}},
		{"retype", []string{`"count": {"type": "integer"`, `"count": {"type": "number"`},
			[]string{`BREAKING property "count": type changed from integer to number`}},
		{"go name", []string{`"count": {"type": "integer",`, `"count": {"type": "integer", "x-go-name": "Cnt",`},
			[]string{`BREAKING property "count": Go name changed from Count to Cnt: rules refer to fields by Go name`}},
		{"becomes required", []string{`"required": ["id", "kind"]`, `"required": ["id", "kind", "count"]`},
			[]string{`BREAKING property "count": became required: data written for the previous version may lack it`}},
		{"no longer required", []string{`"required": ["id", "kind"]`, `"required": ["id"]`},
			[]string{`ok property "kind": no longer required`}},
		{"enum narrowed", []string{`["a", "b"]`, `["a"]`},
			[]string{`BREAKING property "kind": enum narrowed: "b" no longer allowed`}},
		{"enum widened", []string{`["a", "b"]`, `["a", "b", "c"]`},
			[]string{`ok property "kind": enum widened: "c" allowed`}},
		{"enum added", []string{`"name": {"type": "string",`, `"name": {"type": "string", "enum": ["x"],`},
			[]string{`BREAKING property "name": enum added: only "x" allowed`}},
		{"minimum raised", []string{`"minimum": 0`, `"minimum": 1`},
			[]string{`BREAKING property "count": minimum tightened from 0 to 1`}},
		{"maximum lowered", []string{`"maximum": 10`, `"maximum": 9`},
			[]string{`BREAKING property "count": maximum tightened from 10 to 9`}},
		{"bounds relaxed", []string{`"minimum": 0, "maximum": 10`, `"minimum": -1`},
			[]string{`ok property "count": minimum relaxed from 0 to -1`, `ok property "count": maximum 10 dropped`}},
		{"maxLength lowered", []string{`"maxLength": 20`, `"maxLength": 19`},
			[]string{`BREAKING property "name": maxLength tightened from 20 to 19`}},
		{"minLength added", []string{`"maxLength": 20`, `"maxLength": 20, "minLength": 1`},
			[]string{`BREAKING property "name": minLength 1 added`}},
		{"maxItems lowered", []string{`"maxItems": 5`, `"maxItems": 4`},
			[]string{`BREAKING property "tags": maxItems tightened from 5 to 4`}},
		{"pattern changed", []string{`"^[a-z]+$"`, `"^[a-z]*$"`},
			[]string{`BREAKING property "name": pattern changed from "^[a-z]+$" to "^[a-z]*$" (a changed pattern may refuse values the old one accepted)`}},
		{"pattern dropped", []string{`, "pattern": "^[a-z]+$"`, ``},
			[]string{`ok property "name": pattern "^[a-z]+$" dropped`}},
		{"format added", []string{`"name": {"type": "string",`, `"name": {"type": "string", "format": "email",`},
			[]string{`BREAKING property "name": format "email" added`}},
		{"format changed", []string{`"format": "uuid"`, `"format": "uri"`},
			[]string{`BREAKING property "id": format changed from "uuid" to "uri"`}},
		{"additionalProperties closed", []string{`"type": "object",`, `"type": "object", "additionalProperties": false,`},
			[]string{`BREAKING event data: additionalProperties changed from true to false: data with other properties is now refused`}},
		{"nested additionalProperties opened", []string{`"additionalProperties": false`, `"additionalProperties": true`},
			[]string{`ok property "owner": additionalProperties changed from false to true`}},
		{"nested removal", []string{`"properties": {"email": {"type": "string"}}`, `"properties": {}`},
			[]string{`BREAKING property "owner.email": removed (it was optional string)`}},
		{"array items retyped", []string{`"items": {"type": "string"}`, `"items": {"type": "integer"}`},
			[]string{`BREAKING property "tags[]": type changed from string to integer`}},
	}
	old := loadSchema(t, 1, v1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Compare(old, loadSchema(t, 2, v1, tc.edits...)) {
				tag := "ok"
				if c.Breaking {
					tag = "BREAKING"
				}
				got = append(got, tag+" "+c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRenameHint checks that a removal next to one addition of the same
// kind suggests the rename.
func TestRenameHint(t *testing.T) {
	old := loadSchema(t, 1, v1)
	cs := Compare(old, loadSchema(t, 2, v1, `"count": {"type": "integer"`, `"total": {"type": "integer"`))
	if len(cs) == 0 || cs[0].Hint != `renamed to "total"? a rename is a removal plus an addition` {
		t.Fatalf("no rename hint: %+v", cs)
	}
}

// writeTree writes files (slash paths → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runCheck(root string, lock bool) string {
	var l diag.List
	schemas := schema.Load(root, &l)
	var lk *Lock
	if lock {
		lk = ReadLock(root, DefaultLockPath, &l)
	}
	Check(root, schemas, lk, &l)
	var b strings.Builder
	for _, d := range l.Sorted() {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

func TestCheck(t *testing.T) {
	s1 := loadSchema(t, 1, v1)
	lockFor := func(hash string) string {
		return "# comment\ncom.example.thing/v1 sha256:" + hash + "\n"
	}
	v2Bad := strings.Replace(strings.Replace(v1, "/v1", "/v2", 1), `["a", "b"]`, `["a"]`, 1)
	cases := []struct {
		name  string
		files map[string]string
		lock  bool
		want  string
	}{
		{"no lock, compatible", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			"schemas/com.example.thing/v2.json": strings.Replace(v1, "/v1", "/v2", 1),
		}, false, ""},
		{"no lock, breaking", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			"schemas/com.example.thing/v2.json": v2Bad,
		}, false, `schemas/com.example.thing/v2.json:7:13: com.example.thing/v2 is not backward compatible with com.example.thing/v1: property "kind": enum narrowed: "b" no longer allowed (hint: declare "x-breaking": true at the top level to publish a breaking version)` + "\n"},
		{"breaking declared", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			"schemas/com.example.thing/v2.json": strings.Replace(v2Bad, `"type": "object",`, `"type": "object", "x-breaking": true,`, 1),
		}, false, ""},
		{"locked and unchanged", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			DefaultLockPath:                     lockFor(s1.Hash),
		}, true, ""},
		{"locked pair is not rechecked", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			"schemas/com.example.thing/v2.json": v2Bad,
			DefaultLockPath:                     lockFor(s1.Hash) + "com.example.thing/v2 sha256:" + loadSchema(t, 2, v1, `["a", "b"]`, `["a"]`).Hash + "\n",
		}, true, ""},
		{"published version edited", map[string]string{
			"schemas/com.example.thing/v1.json": strings.Replace(v1, `"maximum": 10`, `"maximum": 11`, 1),
			DefaultLockPath:                     lockFor(s1.Hash),
		}, true, "schemas/com.example.thing/v1.json:1:1: schema com.example.thing/v1 is published and must not change: schemas/schemas.lock records sha256:" + s1.Hash[:12] + "…, the file now hashes to sha256:" +
			loadSchema(t, 1, v1, `"maximum": 10`, `"maximum": 11`).Hash[:12] + "… (hint: publish the change as a new version (schemas/com.example.thing/v2.json); if com.example.thing/v1 was only added on this branch and never merged, delete its line from schemas/schemas.lock and run go generate again)\n"},
		{"published version deleted", map[string]string{
			"schemas/com.example.other/v1.json": strings.Replace(v1, "thing", "other", 1),
			DefaultLockPath:                     lockFor(s1.Hash),
		}, true, "schemas/schemas.lock:2:1: published schema com.example.thing/v1 is missing: schemas/com.example.thing/v1.json was deleted (hint: published versions are immutable; restore the file (to retire the version on purpose, delete this line too and expect eventrunner check --base to report the removal))\n"},
		{"malformed lock", map[string]string{
			"schemas/com.example.thing/v1.json": v1,
			DefaultLockPath:                     "com.example.thing/v1 md5:abc\nBad/v1 sha256:" + s1.Hash + "\n",
		}, true, `schemas/schemas.lock:1:1: malformed lock line "com.example.thing/v1 md5:abc" (hint: each line is <type>/v<N> sha256:<64 hex digits>)` + "\n" +
			`schemas/schemas.lock:2:1: malformed schema ID "Bad/v1" in lock` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := runCheck(writeTree(t, tc.files), tc.lock); got != tc.want {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestLockUpdated(t *testing.T) {
	var l diag.List
	lk := ParseLock(DefaultLockPath, []byte("com.example.thing/v10 sha256:"+strings.Repeat("a", 64)+"\n"), &l)
	mk := func(id string, hash byte) *ir.Schema {
		t, v := splitID(id)
		return &ir.Schema{ID: id, Type: t, Version: v, Hash: strings.Repeat(string(hash), 64)}
	}
	// A listed entry keeps its recorded hash; new versions are added;
	// versions sort numerically.
	got := string(lk.Updated([]*ir.Schema{mk("com.example.thing/v2", 'b'), mk("com.example.thing/v10", 'c'), mk("com.example.a/v1", 'd')}))
	want := lockHeader +
		"com.example.a/v1 sha256:" + strings.Repeat("d", 64) + "\n" +
		"com.example.thing/v2 sha256:" + strings.Repeat("b", 64) + "\n" +
		"com.example.thing/v10 sha256:" + strings.Repeat("a", 64) + "\n"
	if got != want {
		t.Errorf("lock:\n%s\nwant:\n%s", got, want)
	}
	again := ParseLock(DefaultLockPath, []byte(got), &l)
	if l.HasErrors() || len(again.Entries) != 3 {
		t.Errorf("written lock does not parse back: %v %v", l.Err(), again.Entries)
	}
}

// FuzzParseLock: any input parses without panicking, and a lock that
// parses cleanly survives a rewrite with the same entries.
func FuzzParseLock(f *testing.F) {
	f.Add([]byte(lockHeader + "com.example.thing/v1 sha256:" + strings.Repeat("0", 64) + "\n"))
	f.Add([]byte("a/v1 sha256:" + strings.Repeat("f", 64) + "\r\n  # c\n\nb.c/v10 sha256:" + strings.Repeat("1", 64)))
	f.Add([]byte("a/v1 sha256:xyz\na/v1 sha256:" + strings.Repeat("0", 64) + "\na/v1 sha256:" + strings.Repeat("0", 64)))
	f.Fuzz(func(t *testing.T, src []byte) {
		var l diag.List
		lk := ParseLock(DefaultLockPath, src, &l)
		if l.HasErrors() {
			return
		}
		var l2 diag.List
		again := ParseLock(DefaultLockPath, lk.Updated(nil), &l2)
		if l2.HasErrors() || len(again.Entries) != len(lk.Entries) {
			t.Fatalf("rewrite changed the lock: %v, %d → %d entries", l2.Err(), len(lk.Entries), len(again.Entries))
		}
		for id, e := range lk.Entries {
			if again.Entries[id].Hash != e.Hash {
				t.Fatalf("%s: hash %s → %s", id, e.Hash, again.Entries[id].Hash)
			}
		}
	})
}
