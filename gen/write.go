package gen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventrunner/eventrunner/gen/emit"
)

// WriteResult reports what Write changed.
type WriteResult struct {
	Written, Removed, Unchanged []string
}

// Write puts files under root and removes generated files in outDir that the
// run no longer produces (files starting with the generated-code header), so
// that deleting a schema or knowledge base deletes its output. Files whose
// content is unchanged are not touched.
func Write(root, outDir string, files []File) (*WriteResult, error) {
	res := &WriteResult{}
	keep := map[string]bool{}
	for _, f := range files {
		keep[filepath.Clean(f.Path)] = true
		p := filepath.Join(root, f.Path)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.Content) {
			res.Unchanged = append(res.Unchanged, f.Path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("gen: write %s: %w", f.Path, err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return nil, fmt.Errorf("gen: write %s: %w", f.Path, err)
		}
		res.Written = append(res.Written, f.Path)
	}
	stale, err := staleFiles(root, outDir, keep)
	if err != nil {
		return nil, err
	}
	for _, rel := range stale {
		if err := os.Remove(filepath.Join(root, rel)); err != nil {
			return nil, fmt.Errorf("gen: remove stale %s: %w", rel, err)
		}
		res.Removed = append(res.Removed, rel)
	}
	return res, nil
}

// staleFiles lists generated files under outDir that are not in keep.
func staleFiles(root, outDir string, keep map[string]bool) ([]string, error) {
	var out []string
	dir := filepath.Join(root, outDir)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || keep[rel] {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if isGenerated(src) {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gen: scan %s: %w", outDir, err)
	}
	return out, nil
}

func isGenerated(src []byte) bool {
	first, _, _ := strings.Cut(string(src[:min(len(src), 200)]), "\n")
	return strings.HasPrefix(first, emit.Header)
}

// WriteLock writes the schema lock (Result.Lock) under root when its
// content changed.
func WriteLock(root string, lock *File) error {
	p := filepath.Join(root, filepath.FromSlash(lock.Path))
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, lock.Content) {
		return nil
	}
	if err := os.WriteFile(p, lock.Content, 0o644); err != nil {
		return fmt.Errorf("gen: write schema lock: %w", err)
	}
	return nil
}
