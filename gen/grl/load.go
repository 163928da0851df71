// Package grl loads rules/*/kb.yaml and *.grl, parses GRL with grule's own
// ANTLR grammar and type-checks it against the schema ir.
//
// The result is typed ir (ir.KB with ir.Rule conditions and actions) that
// the emitter turns into plain Go reproducing grule v1.20.4's execution.
// Every problem is reported as file:line:col through diag.List.
package grl

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/runtime/kbyaml"
)

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

// parseKBYAML checks kb.yaml with the parser the interpreter uses too and
// fills the KB header; nil when it has problems, each recorded in l.
func parseKBYAML(f *diag.File, schemas []*ir.Schema, l *diag.List) *ir.KB {
	known := make([]kbyaml.Schema, len(schemas))
	for i, s := range schemas {
		known[i] = kbyaml.Schema{ID: s.ID, Type: s.Type}
	}
	spec, problems := kbyaml.Parse(f.Src, known)
	for _, p := range problems {
		d := l.Errorf(diag.Pos{File: f, Offset: f.OffsetOf(p.Line, p.Col)}, "%s", p.Msg)
		if p.Hint != "" {
			d.WithHint(p.Hint)
		}
	}
	if len(problems) > 0 {
		return nil
	}
	kb := &ir.KB{
		Name: spec.Name, GoName: camel(spec.Name), FileStem: strings.ReplaceAll(spec.Name, "-", "_"),
		Version: spec.Version, On: spec.On, FactName: spec.FactName, MaxCycles: spec.MaxCycles,
		Pos: diag.Pos{File: f, Offset: f.OffsetOf(spec.Line, spec.Col)},
	}
	for _, s := range schemas {
		if s.ID == spec.SchemaID {
			kb.Schema = s
		}
	}
	return kb
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

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// didYouMean suggests the closest candidate, or returns fallback.
var didYouMean = kbyaml.DidYouMean
