package interp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// kbFile is rules/<kb>/kb.yaml, the format the generator reads.
type kbFile struct {
	Name      string            `yaml:"name"`
	Version   string            `yaml:"version"`
	On        []string          `yaml:"on"`
	Facts     map[string]string `yaml:"facts"`
	MaxCycles int               `yaml:"max_cycles"`
}

// LoadDir reads every knowledge base under dir (dir/<kb>/kb.yaml and
// dir/<kb>/*.grl, the layout of the repository's rules/) at run time, for
// rules hot-loaded without regenerating. reg, when not nil, must know the
// schema each knowledge base binds and hold a schema for each type in `on`.
// Every problem found is returned, joined; the knowledge bases come back in
// name order.
func LoadDir(dir string, reg *rules.Registry) ([]*KB, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("interp: %w", err)
	}
	var kbs []*KB
	var errs []error
	seen := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		kb, err := loadKB(filepath.Join(dir, e.Name()), reg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if kb == nil {
			continue
		}
		if prev, dup := seen[kb.Name()]; dup {
			errs = append(errs, fmt.Errorf("interp: %s: knowledge base name %q already used by %s", e.Name(), kb.Name(), prev))
			continue
		}
		seen[kb.Name()] = e.Name()
		kbs = append(kbs, kb)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(kbs, func(i, j int) bool { return kbs[i].Name() < kbs[j].Name() })
	return kbs, nil
}

// loadKB loads one knowledge-base directory; (nil, nil) when it holds
// neither kb.yaml nor GRL.
func loadKB(dir string, reg *rules.Registry) (*KB, error) {
	grls, err := filepath.Glob(filepath.Join(dir, "*.grl"))
	if err != nil {
		return nil, fmt.Errorf("interp: %s: %w", dir, err)
	}
	sort.Strings(grls)
	meta, err := os.ReadFile(filepath.Join(dir, "kb.yaml"))
	if errors.Is(err, os.ErrNotExist) && len(grls) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("interp: %w", err)
	}
	yamlPath := filepath.ToSlash(filepath.Join(dir, "kb.yaml"))
	spec, err := parseKBYAML(meta, reg)
	if err != nil {
		return nil, fmt.Errorf("interp: %s: %w", yamlPath, err)
	}
	if len(grls) == 0 {
		return nil, fmt.Errorf("interp: %s: no *.grl files", filepath.ToSlash(dir))
	}
	for _, p := range grls {
		text, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("interp: %w", err)
		}
		spec.Sources = append(spec.Sources, rules.Source{Path: filepath.ToSlash(p), Text: string(text)})
	}
	return New(spec)
}

// parseKBYAML reads kb.yaml strictly (unknown keys are errors, as in the
// generator) and checks it against reg.
func parseKBYAML(data []byte, reg *rules.Registry) (Spec, error) {
	var f kbFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Spec{}, err
	}
	var problems []string
	if f.Name == "" {
		problems = append(problems, "name is required")
	}
	if len(f.On) == 0 {
		problems = append(problems, "on must list at least one event type")
	}
	if len(f.Facts) != 1 {
		problems = append(problems, fmt.Sprintf("facts must have exactly one entry, got %d", len(f.Facts)))
	}
	if f.MaxCycles < 0 {
		problems = append(problems, fmt.Sprintf("max_cycles must be > 0, got %d", f.MaxCycles))
	}
	spec := Spec{Name: f.Name, Version: f.Version, On: f.On, MaxCycles: f.MaxCycles}
	for name, id := range f.Facts {
		spec.FactName, spec.SchemaID = name, id
	}
	if spec.FactName == EventFact {
		problems = append(problems, fmt.Sprintf("fact name %q is reserved", EventFact))
	}
	if reg != nil && spec.SchemaID != "" {
		problems = append(problems, checkRegistry(spec, reg)...)
	}
	if len(problems) > 0 {
		return Spec{}, errors.New(strings.Join(problems, "; "))
	}
	return spec, nil
}

func checkRegistry(spec Spec, reg *rules.Registry) []string {
	var problems []string
	s, ok := reg.Schema(spec.SchemaID)
	if !ok {
		problems = append(problems, fmt.Sprintf("fact %s: unknown schema %s", spec.FactName, spec.SchemaID))
	}
	bound := false
	for _, t := range spec.On {
		if _, ok := reg.Latest(t); !ok {
			problems = append(problems, fmt.Sprintf("on: unknown event type %s", t))
		}
		bound = bound || (s != nil && s.Type == t)
	}
	if s != nil && !bound {
		problems = append(problems, fmt.Sprintf("fact %s: schema %s is not of a type listed in on", spec.FactName, spec.SchemaID))
	}
	return problems
}
