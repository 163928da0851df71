package natscluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// serverModule is the main package of the nats-server module; this module
// requires it (runtime/bus embeds its server package), so go.sum holds
// everything the build needs and the module proxy is all it may download.
const serverModule = "github.com/nats-io/nats-server/v2"

// EnvBinary names a nats-server binary to use instead of building one.
const EnvBinary = "EVENTRUNNER_NATS_SERVER"

var binary struct {
	mu   sync.Mutex
	path string
}

// Binary returns the path of a nats-server binary: $EVENTRUNNER_NATS_SERVER
// when set, or one built from the required nats-server module and cached
// under the user's cache directory (os.UserCacheDir, else the temporary
// directory) by module version, Go version and platform. Concurrent test
// processes take a file lock around the build; the binary is written under
// a temporary name and renamed into place, so none ever runs a partial one.
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := buildBinary()
	if err != nil {
		tb.Fatalf("natscluster: %v", err)
	}
	return p
}

func buildBinary() (string, error) {
	binary.mu.Lock()
	defer binary.mu.Unlock()
	if binary.path != "" {
		return binary.path, nil
	}
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		binary.path = p
		return p, nil
	}
	goTool, err := findGo()
	if err != nil {
		return "", err
	}
	version, err := moduleVersion(goTool)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheRoot(), fmt.Sprintf("nats-server-%s-%s-%s-%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH))
	if version == "" { // replaced by a local directory: no version to key a cache by
		if dir, err = os.MkdirTemp("", "natscluster-"); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "nats-server")
	if runtime.GOOS == "windows" {
		path += ".exe"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("nats-server cache: %w", err)
	}
	if !isFile(path) {
		unlock, err := lockFile(dir + ".lock")
		if err != nil {
			return "", fmt.Errorf("nats-server cache: lock: %w", err)
		}
		defer unlock()
		if !isFile(path) { // another process may have built it while we waited
			if err := build(goTool, path); err != nil {
				return "", err
			}
		}
	}
	binary.path = path
	return path, nil
}

func build(goTool, path string) error {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	var out bytes.Buffer
	cmd := exec.Command(goTool, "build", "-o", tmp, serverModule)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("go build %s: %w\n%s", serverModule, err, out.Bytes())
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("nats-server cache: %w", err)
	}
	return nil
}

// moduleVersion is the version of the nats-server module in this module's
// build list, "" when a replace directive points at a directory.
func moduleVersion(goTool string) (string, error) {
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Version}}|{{with .Replace}}{{.Path}}@{{.Version}}{{end}}", serverModule).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go list -m %s: %w", serverModule, err)
	}
	version, replace, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	switch {
	case replace == "":
		return version, nil
	case strings.HasSuffix(replace, "@"): // a directory
		return "", nil
	default:
		return strings.NewReplacer("/", "_", "@", "_").Replace(replace), nil
	}
}

// findGo is the go command of the toolchain that runs the tests.
func findGo() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isFile(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	return "", errors.New("no go command to build nats-server with (not on PATH, no GOROOT); set " + EnvBinary)
}

func cacheRoot() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "eventrunner", "natscluster")
	}
	return filepath.Join(os.TempDir(), "eventrunner-natscluster")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
