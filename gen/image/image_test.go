package image_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/eventrunner/eventrunner/gen/image"
	"github.com/eventrunner/eventrunner/generated"
)

const testVersion = "v9.8.7-test"

func TestTag(t *testing.T) {
	for _, tc := range []struct{ version, bundle, want string }{
		{"v1.2.3", "0123456789abcdef", "v1.2.3-0123456789abcdef"},
		{"v1.2.3-4-gabc-dirty", "0123456789abcdef", "v1.2.3-4-gabc-dirty-0123456789abcdef"},
		{"feature/x+y", "ab", "feature_x_y-ab"},
		{".hidden", "ab", "hidden-ab"},
		{strings.Repeat("v", 200), "0123456789abcdef", strings.Repeat("v", 111) + "-0123456789abcdef"},
	} {
		if got := image.Tag(tc.version, tc.bundle); got != tc.want {
			t.Errorf("Tag(%q, %q) = %q, want %q", tc.version, tc.bundle, got, tc.want)
		}
	}
}

// buildEngine cross-compiles the engine as `make image` does: static, for
// linux on this machine's architecture.
func buildEngine(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image test runs the linux binary from the image; this machine is " + runtime.GOOS)
	}
	bin := filepath.Join(t.TempDir(), "eventrunner")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion, "-o", bin, "../../cmd/eventrunner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImage builds the image from a freshly built engine, writes the OCI
// layout and the tarball, opens both again and checks the config, then
// extracts the binary from the image's layers and runs it.
func TestImage(t *testing.T) {
	bin := buildEngine(t)
	ctx := context.Background()
	version, bundle, err := image.Probe(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	if version != testVersion || bundle != generated.BundleHash {
		t.Fatalf("probe: version %q bundle %q, want %q %q", version, bundle, testVersion, generated.BundleHash)
	}
	certs := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := image.Options{Binary: bin, Arch: runtime.GOARCH, Version: version, Bundle: bundle,
		Revision: "0123abcd", Created: time.Unix(1700000000, 0).UTC(), CACerts: certs}
	img, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	tag := image.Tag(version, bundle)
	out := t.TempDir()
	if err := image.WriteLayout(filepath.Join(out, "oci"), img, tag); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(out, "image.tar")
	if err := image.WriteTarball(tarPath, img, tag); err != nil {
		t.Fatal(err)
	}

	fromLayout := openLayout(t, filepath.Join(out, "oci"), tag)
	fromTar, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatalf("open tarball: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := fromLayout.Digest(); got != want {
		t.Errorf("layout image digest %s, built %s", got, want)
	}
	lc, _ := fromLayout.ConfigName()
	tc, _ := fromTar.ConfigName()
	if lc != tc {
		t.Errorf("tarball config %s differs from layout config %s", tc, lc)
	}
	if mt, _ := fromLayout.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	checkConfig(t, fromTar, version, bundle, tag)
	files := extract(t, fromLayout)
	checkFiles(t, files)

	// The binary from the image's layer prints the bundle it was built with.
	engine := filepath.Join(t.TempDir(), "eventrunner")
	if err := os.WriteFile(engine, files["eventrunner"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	outb, err := exec.Command(engine, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", engine, err, outb)
	}
	if !strings.Contains(string(outb), "eventrunner "+testVersion+"\n") || !strings.Contains(string(outb), "bundle "+generated.BundleHash+"\n") {
		t.Errorf("version from the image:\n%s\nwant engine %s and bundle %s", outb, testVersion, generated.BundleHash)
	}

	// Reproducible: the same inputs give the same digest.
	again, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != want {
		t.Errorf("rebuild digest %s, first %s", d, want)
	}
}

func openLayout(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("open layout: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("layout has no image tagged %s: %+v", tag, m.Manifests)
	return nil
}

func checkConfig(t *testing.T, img v1.Image, version, bundle, tag string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want non-root 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/eventrunner"}) {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, image.DefaultCmd) || !slices.Contains(c.Cmd, "0.0.0.0:8080") {
		t.Errorf("cmd %q", c.Cmd)
	}
	if c.WorkingDir != image.DataDir {
		t.Errorf("working dir %q", c.WorkingDir)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ports %v", c.ExposedPorts)
	}
	for k, v := range map[string]string{
		image.LabelBundle:                      bundle,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.title":       "eventrunner",
		"org.opencontainers.image.revision":    "0123abcd",
		"org.opencontainers.image.created":     "2023-11-14T22:13:20Z",
		"org.opencontainers.image.ref.name":    tag,
		"org.opencontainers.image.description": "Multi-tenant event processing engine with compiled GRL rules; bundle " + bundle,
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if !cf.Created.Time.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("created %v", cf.Created)
	}
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

// extract flattens the image's layers into path → entry.
func extract(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = entry{h, data}
	}
}

func checkFiles(t *testing.T, files map[string]entry) {
	t.Helper()
	if e := files["eventrunner"]; e.hdr == nil || e.hdr.Mode&0o111 == 0 || len(e.data) == 0 {
		t.Fatalf("no executable /eventrunner in the image")
	}
	if !strings.Contains(string(files["etc/passwd"].data), "eventrunner:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the eventrunner user:\n%s", files["etc/passwd"].data)
	}
	if !strings.Contains(string(files["etc/group"].data), "eventrunner:x:65532:") {
		t.Errorf("/etc/group lacks the eventrunner group")
	}
	if e := files["tmp"]; e.hdr == nil || e.hdr.Typeflag != tar.TypeDir || e.hdr.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp is not a sticky world-writable directory: %+v", e.hdr)
	}
	if e := files[strings.TrimPrefix(image.DataDir, "/")]; e.hdr == nil || e.hdr.Uid != image.UID || e.hdr.Gid != image.UID {
		t.Errorf("%s is not owned by %d: %+v", image.DataDir, image.UID, e.hdr)
	}
	if e := files[strings.TrimPrefix(image.CACertsPath, "/")]; !strings.Contains(string(e.data), "BEGIN CERTIFICATE") {
		t.Errorf("CA certificates missing")
	}
	for name, e := range files {
		if !e.hdr.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: mtime %v, want the image's creation time", name, e.hdr.ModTime)
		}
	}
}
