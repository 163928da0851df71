package gen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen"
)

// versionFile records, for the current gen.Version, fingerprints of the
// generator's input and output for each test corpus.
const versionFile = "testdata/generator-version.txt"

// TestGeneratorVersion keeps gen.Version honest. The bundle hash covers the
// schemas, the rules and gen.Version, so two binaries with the same bundle
// hash must run the same generated code: whenever the emitted code changes
// for an unchanged input, gen.Version must change too. The corpora are the
// golden cases, the generator's other test inputs and the repository's own
// schemas and rules; for each the file records a hash of the input and of
// the output (bundle hash masked, since it contains the version) under the
// version they were recorded for. A corpus whose input is unchanged but
// whose output changed under an unchanged version fails, even with -update.
// A changed input only needs re-recording, which the test does not demand.
func TestGeneratorVersion(t *testing.T) {
	got := fingerprints(t)
	recVersion, rec := readVersionFile(t)
	var changed, fresh []string
	for name, fp := range got {
		old, ok := rec[name]
		switch {
		case !ok || old.in != fp.in:
			fresh = append(fresh, name)
		case old.out != fp.out:
			changed = append(changed, name)
		}
	}
	sort.Strings(changed)
	sort.Strings(fresh)
	if len(changed) > 0 && recVersion == gen.Version {
		t.Fatalf("the generator's output changed for unchanged input in %s, but gen.Version is still %s.\n"+
			"gen.Version is part of every bundle hash: bump it in gen/generate.go, then run\n"+
			"  go test ./gen -update && go generate ./...\nand commit %s, the golden files and generated/",
			strings.Join(changed, ", "), gen.Version, versionFile)
	}
	if *update {
		writeVersionFile(t, got)
		return
	}
	if recVersion != gen.Version {
		t.Fatalf("%s was recorded for generator %s, gen.Version is %s: run go test ./gen -run TestGeneratorVersion -update", versionFile, recVersion, gen.Version)
	}
	if len(fresh) > 0 {
		t.Logf("not yet recorded (new or edited input; go test ./gen -update records them): %s", strings.Join(fresh, ", "))
	}
}

// corpora are the fixed inputs: name → root holding schemas/ and rules/.
func corpora(t *testing.T) map[string]string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	out := map[string]string{
		"repository":    "..",
		"grl/sem":       filepath.Join("grl", "testdata", "sem"),
		"grl/bench":     filepath.Join("grl", "testdata", "bench"),
		"oracle/quirks": filepath.Join("oracle", "testdata", "quirks"),
		"bench":         filepath.Join("bench", "testdata"),
	}
	for _, dir := range dirs {
		out["cases/"+filepath.Base(dir)] = filepath.Join(dir, "input")
	}
	return out
}

type fingerprint struct{ in, out string }

// fingerprints generates every corpus that generates without error and
// hashes its input files and its output, with the bundle hash masked.
func fingerprints(t *testing.T) map[string]fingerprint {
	t.Helper()
	out := map[string]fingerprint{}
	for name, root := range corpora(t) {
		if _, err := os.Stat(filepath.Join(root, "schemas")); err != nil {
			continue
		}
		res, err := gen.Generate(context.Background(), gen.Config{Root: root, OutDir: "generated"})
		if err != nil {
			continue // diagnostics never reach a bundle
		}
		h := sha256.New()
		for _, f := range res.Files {
			content := bytes.ReplaceAll(f.Content, []byte(res.Bundle.Hash), []byte("<bundle>"))
			fmt.Fprintf(h, "%s %d\n", f.Path, len(content))
			h.Write(content)
		}
		out[name] = fingerprint{in: inputHash(t, root), out: hex.EncodeToString(h.Sum(nil))[:32]}
	}
	return out
}

// inputHash hashes every file under root/schemas and root/rules.
func inputHash(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	for _, dir := range []string{"schemas", "rules"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
			h.Write(b)
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func readVersionFile(t *testing.T) (string, map[string]fingerprint) {
	t.Helper()
	src, err := os.ReadFile(versionFile)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var version string
	rec := map[string]fingerprint{}
	for i, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case len(f) == 2 && f[0] == "version":
			version = f[1]
		case len(f) == 4 && f[0] == "corpus" && strings.HasPrefix(f[2], "in:") && strings.HasPrefix(f[3], "out:"):
			rec[f[1]] = fingerprint{in: f[2][3:], out: f[3][4:]}
		default:
			t.Fatalf("%s:%d: malformed line %q", versionFile, i+1, line)
		}
	}
	return version, rec
}

func writeVersionFile(t *testing.T, fps map[string]fingerprint) {
	t.Helper()
	names := make([]string, 0, len(fps))
	for n := range fps {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# gen.Version and, per test corpus, hashes of its input and of what the\n")
	b.WriteString("# generator emits for it (bundle hash masked). Checked by TestGeneratorVersion;\n")
	b.WriteString("# rewritten by go test ./gen -update, which refuses output that changed for an\n")
	b.WriteString("# unchanged input while gen.Version stayed the same.\n")
	fmt.Fprintf(&b, "version %s\n", gen.Version)
	for _, n := range names {
		fmt.Fprintf(&b, "corpus %s in:%s out:%s\n", n, fps[n].in, fps[n].out)
	}
	if err := os.WriteFile(versionFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
