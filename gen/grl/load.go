// Package grl loads rules/*/kb.yaml and *.grl, parses GRL with grule's own
// ANTLR grammar and type-checks it against the schema ir.
//
// The result is typed ir (ir.KB with ir.Rule conditions and actions) that
// the emitter turns into plain Go reproducing grule v1.20.4's execution.
// Every problem is reported as file:line:col through diag.List.
package grl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

var kbNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Load reads every rules/<dir>/ under root, checks its kb.yaml and GRL
// against schemas and returns the knowledge bases sorted by name. Problems
// are recorded in l; knowledge bases with errors are left out.
func Load(root string, schemas []*ir.Schema, l *diag.List) []*ir.KB {
	dirs, err := kbDirs(root)
	if err != nil {
		l.Errorf(diag.Pos{}, "rules: %v", err)
		return nil
	}
	var kbs []*ir.KB
	byName := map[string]*ir.KB{}
	for _, dir := range dirs {
		kb := loadKB(root, dir, schemas, l)
		if kb == nil {
			continue
		}
		if prev := byName[kb.Name]; prev != nil {
			l.Errorf(kb.Pos, "knowledge base %q is already defined in %s", kb.Name, prev.Pos)
			continue
		}
		byName[kb.Name] = kb
		kbs = append(kbs, kb)
	}
	sort.Slice(kbs, func(i, j int) bool { return kbs[i].Name < kbs[j].Name })
	return kbs
}

// kbDirs lists rules/<dir> (relative to root) that hold a kb.yaml, sorted.
func kbDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "rules"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		rel := "rules/" + e.Name()
		if _, err := os.Stat(filepath.Join(root, rel, "kb.yaml")); err == nil {
			dirs = append(dirs, rel)
		}
	}
	return dirs, nil
}

// loadKB loads one knowledge base directory; nil when it has errors.
func loadKB(root, dir string, schemas []*ir.Schema, l *diag.List) *ir.KB {
	path := dir + "/kb.yaml"
	src, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		l.Errorf(diag.Pos{File: diag.NewFile(path, nil)}, "read: %v", err)
		return nil
	}
	f := diag.NewFile(path, src)
	before := errCount(l)
	kb := parseKBYAML(f, schemas, l)
	if kb == nil {
		return nil
	}
	kb.Dir = dir
	grls, err := filepath.Glob(filepath.Join(root, dir, "*.grl"))
	if err != nil {
		l.Errorf(kb.Pos, "list GRL files: %v", err)
		return nil
	}
	sort.Strings(grls)
	if len(grls) == 0 {
		l.Errorf(kb.Pos, "knowledge base %q has no .grl files in %s", kb.Name, dir)
	}
	var files []*diag.File
	for _, p := range grls {
		text, err := os.ReadFile(p)
		if err != nil {
			l.Errorf(kb.Pos, "read %s: %v", p, err)
			continue
		}
		rel := dir + "/" + filepath.Base(p)
		kb.Sources = append(kb.Sources, ir.Source{Path: rel, Text: string(text)})
		files = append(files, diag.NewFile(rel, text))
	}
	kb.Rules = Compile(kb, files, l)
	if errCount(l) > before {
		return nil
	}
	return kb
}

func errCount(l *diag.List) int {
	n := 0
	for _, d := range l.Sorted() {
		if d.Severity == diag.Error {
			n++
		}
	}
	return n
}

// yamlPos turns a yaml node's line:col into a position.
func yamlPos(f *diag.File, n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: f}
	}
	return diag.Pos{File: f, Offset: f.OffsetOf(n.Line, n.Column)}
}

// parseKBYAML checks kb.yaml and fills the KB header.
func parseKBYAML(f *diag.File, schemas []*ir.Schema, l *diag.List) *ir.KB {
	var doc yaml.Node
	if err := yaml.Unmarshal(f.Src, &doc); err != nil {
		line, col := yamlErrPos(err)
		l.Errorf(diag.Pos{File: f, Offset: f.OffsetOf(line, col)}, "invalid YAML: %s", yamlErrMsg(err))
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.Errorf(diag.Pos{File: f}, "kb.yaml must be a mapping with name, version, on and facts")
		return nil
	}
	m := doc.Content[0]
	kb := &ir.KB{MaxCycles: 5000, Pos: yamlPos(f, m)}
	ok := true
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if prev := seen[k.Value]; prev != nil {
			l.Errorf(yamlPos(f, k), "duplicate key %q", k.Value)
			ok = false
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "name":
			ok = kbName(f, v, kb, l) && ok
		case "version":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				l.Errorf(yamlPos(f, v), "version must be a non-empty string")
				ok = false
			}
			kb.Version = v.Value
		case "on":
			ok = kbOn(f, v, kb, schemas, l) && ok
		case "facts":
			ok = kbFacts(f, v, kb, schemas, l) && ok
		case "max_cycles":
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n <= 0 {
				l.Errorf(yamlPos(f, v), "max_cycles must be a positive integer, got %q", v.Value)
				ok = false
			}
			kb.MaxCycles = n
		default:
			l.Errorf(yamlPos(f, k), "unknown key %q", k.Value).WithHint(didYouMean(k.Value, []string{"name", "version", "on", "facts", "max_cycles"}, "known keys are name, version, on, facts, max_cycles"))
			ok = false
		}
	}
	for _, req := range []string{"name", "version", "on", "facts"} {
		if seen[req] == nil {
			l.Errorf(kb.Pos, "missing required key %q", req)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	if kb.Schema != nil && !contains(kb.On, kb.Schema.Type) {
		l.Errorf(yamlPos(f, seen["facts"]), "fact %s binds %s, whose type %s is not listed in on", kb.FactName, kb.Schema.ID, kb.Schema.Type)
		return nil
	}
	return kb
}

func kbName(f *diag.File, v *yaml.Node, kb *ir.KB, l *diag.List) bool {
	if v.Kind != yaml.ScalarNode || !kbNameRE.MatchString(v.Value) {
		l.Errorf(yamlPos(f, v), "name %q must match [a-z][a-z0-9_-]*", v.Value)
		return false
	}
	kb.Name = v.Value
	kb.GoName = camel(v.Value)
	kb.FileStem = strings.ReplaceAll(v.Value, "-", "_")
	return true
}

func kbOn(f *diag.File, v *yaml.Node, kb *ir.KB, schemas []*ir.Schema, l *diag.List) bool {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		l.Errorf(yamlPos(f, v), "on must be a non-empty list of event types")
		return false
	}
	var types []string
	for _, s := range schemas {
		if !contains(types, s.Type) {
			types = append(types, s.Type)
		}
	}
	ok := true
	for _, t := range v.Content {
		switch {
		case t.Kind != yaml.ScalarNode:
			l.Errorf(yamlPos(f, t), "on: event type must be a string")
			ok = false
		case !contains(types, t.Value):
			l.Errorf(yamlPos(f, t), "on: unknown event type %q", t.Value).WithHint(didYouMean(t.Value, types, "no schema in schemas/ has this type"))
			ok = false
		case contains(kb.On, t.Value):
			l.Errorf(yamlPos(f, t), "on: event type %q is listed twice", t.Value)
			ok = false
		default:
			kb.On = append(kb.On, t.Value)
		}
	}
	return ok
}

func kbFacts(f *diag.File, v *yaml.Node, kb *ir.KB, schemas []*ir.Schema, l *diag.List) bool {
	if v.Kind != yaml.MappingNode || len(v.Content) != 2 {
		l.Errorf(yamlPos(f, v), "facts must map exactly one GRL fact name to a schema ID, e.g. {Order: com.acme.order.created/v1}")
		return false
	}
	name, id := v.Content[0], v.Content[1]
	ok := true
	switch {
	case !isIdent(name.Value):
		l.Errorf(yamlPos(f, name), "fact name %q is not a GRL identifier", name.Value)
		ok = false
	case name.Value == "Event" || name.Value == "DEFUNC":
		l.Errorf(yamlPos(f, name), "fact name %q is reserved", name.Value).WithHint("Event is the built-in CloudEvent fact; DEFUNC is grule's")
		ok = false
	case isKeyword(name.Value):
		l.Errorf(yamlPos(f, name), "fact name %q is a GRL keyword", name.Value)
		ok = false
	}
	kb.FactName = name.Value
	var ids []string
	for _, s := range schemas {
		ids = append(ids, s.ID)
		if s.ID == id.Value {
			kb.Schema = s
		}
	}
	if kb.Schema == nil {
		l.Errorf(yamlPos(f, id), "fact %s: unknown schema %q", name.Value, id.Value).WithHint(didYouMean(id.Value, ids, "schema IDs look like <event type>/v<N>"))
		ok = false
	}
	return ok
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// yamlErrPos extracts the position from a yaml error message.
func yamlErrPos(err error) (line, col int) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 1, 1
	}
	line, _ = strconv.Atoi(m[1])
	col = 1
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	return line, col
}

func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "line ") {
		s = s[i+2:]
	}
	return s
}

// camel turns a KB name into an exported Go identifier: "iot-readings" →
// "IotReadings".
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// didYouMean suggests the closest candidate, or returns fallback.
func didYouMean(got string, candidates []string, fallback string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(2, len(got)/3) {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return fallback
}

// editDistance is the Levenshtein distance of two strings (in bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
