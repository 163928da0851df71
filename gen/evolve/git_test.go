package evolve

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", args[0], err, out)
	}
}

// TestExtractBase reads a base revision whose schemas live in a
// subdirectory of the work tree, leaving out files added after it.
func TestExtractBase(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	top := writeTree(t, map[string]string{
		"svc/schemas/com.example.thing/v1.json": v1,
		"svc/rules/r/kb.yaml":                   "name: r\n",
		"other/ignored.txt":                     "x",
	})
	gitRun(t, top, "init", "-q")
	gitRun(t, top, "add", ".")
	gitRun(t, top, "commit", "-q", "-m", "base")
	if err := os.WriteFile(filepath.Join(top, "svc", "schemas", "com.example.thing", "v2.json"), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ExtractBase(context.Background(), filepath.Join(top, "svc"), "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Commit) != 40 {
		t.Errorf("commit %q", b.Commit)
	}
	for p, want := range map[string]bool{
		"schemas/com.example.thing/v1.json": true,
		"rules/r/kb.yaml":                   true,
		"schemas/com.example.thing/v2.json": false,
	} {
		_, err := os.Stat(filepath.Join(b.Root, filepath.FromSlash(p)))
		if (err == nil) != want {
			t.Errorf("%s present = %v, want %v", p, err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(b.Root, "..", "other")); err == nil {
		t.Error("extracted files outside schemas/ and rules/")
	}
	if tree := LoadTree(b.Root, DefaultLockPath); len(tree.Schemas) != 1 {
		t.Errorf("base tree has %d schemas, want 1: %v", len(tree.Schemas), tree.Diags)
	}
	b.Close()
	if _, err := os.Stat(b.Root); err == nil {
		t.Error("Close left the extracted tree behind")
	}

	_, err = ExtractBase(context.Background(), top, "no-such-branch")
	if err == nil || !strings.Contains(err.Error(), "base no-such-branch: no such commit") {
		t.Errorf("missing ref: %v", err)
	}
}

func TestUntarRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../x", "/etc/x", "a/../../x"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x"))
		tw.Close()
		if err := untar(&buf, t.TempDir()); err == nil || !strings.Contains(err.Error(), "unsafe path") {
			t.Errorf("%s: %v, want unsafe path", name, err)
		}
	}
}
