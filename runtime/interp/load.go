package interp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/eventrunner/eventrunner/runtime/kbyaml"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

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
	seen := map[string]string{} // where each name is defined
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		kb, pos, err := loadKB(filepath.Join(dir, e.Name()), reg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if kb == nil {
			continue
		}
		if prev, dup := seen[kb.Name()]; dup {
			errs = append(errs, fmt.Errorf("interp: %s: knowledge base %q is already defined in %s", pos, kb.Name(), prev))
			continue
		}
		seen[kb.Name()] = pos
		kbs = append(kbs, kb)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(kbs, func(i, j int) bool { return kbs[i].Name() < kbs[j].Name() })
	return kbs, nil
}

// LoadKB reads one knowledge-base directory (dir/kb.yaml and dir/*.grl)
// like LoadDir, for callers that keep going past a directory that does not
// load (rules diff reports such a knowledge base as not comparable). It
// returns nil and no error when dir holds neither kb.yaml nor GRL.
func LoadKB(dir string, reg *rules.Registry) (*KB, error) {
	kb, _, err := loadKB(dir, reg)
	return kb, err
}

// loadKB loads one knowledge-base directory, located by pos (kb.yaml's
// path:line:col); a nil KB and no error when it holds neither kb.yaml nor
// GRL.
func loadKB(dir string, reg *rules.Registry) (kb *KB, pos string, err error) {
	grls, err := filepath.Glob(filepath.Join(dir, "*.grl"))
	if err != nil {
		return nil, "", fmt.Errorf("interp: %s: %w", dir, err)
	}
	sort.Strings(grls)
	meta, err := os.ReadFile(filepath.Join(dir, "kb.yaml"))
	if errors.Is(err, os.ErrNotExist) && len(grls) == 0 {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("interp: %w", err)
	}
	spec, pos, err := parseKBYAML(filepath.ToSlash(filepath.Join(dir, "kb.yaml")), meta, reg)
	if err != nil {
		return nil, "", err
	}
	if len(grls) == 0 {
		return nil, "", fmt.Errorf("interp: %s: knowledge base %q has no .grl files in %s", pos, spec.Name, filepath.ToSlash(dir))
	}
	for _, p := range grls {
		text, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("interp: %w", err)
		}
		spec.Sources = append(spec.Sources, rules.Source{Path: filepath.ToSlash(p), Text: string(text)})
	}
	kb, err = New(spec)
	return kb, pos, err
}

// parseKBYAML checks kb.yaml (at path, for the messages) with the
// generator's parser, against reg's schemas when reg is not nil; pos
// locates the knowledge base (path:line:col of its mapping).
func parseKBYAML(path string, data []byte, reg *rules.Registry) (spec Spec, pos string, err error) {
	var known []kbyaml.Schema
	if reg != nil {
		known = []kbyaml.Schema{}
		for _, s := range reg.Schemas() {
			known = append(known, kbyaml.Schema{ID: s.ID, Type: s.Type})
		}
		sort.Slice(known, func(i, j int) bool { return known[i].ID < known[j].ID })
	}
	k, problems := kbyaml.Parse(data, known)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = fmt.Errorf("interp: %s:%s", path, p)
		}
		return Spec{}, "", errors.Join(errs...)
	}
	spec = Spec{Name: k.Name, Version: k.Version, On: k.On, FactName: k.FactName, SchemaID: k.SchemaID, MaxCycles: k.MaxCycles}
	return spec, fmt.Sprintf("%s:%d:%d", path, k.Line, k.Col), nil
}
