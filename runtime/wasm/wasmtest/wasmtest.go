// Package wasmtest builds the example guests under runtime/wasm/testdata
// for tests: the Go guest with the Go toolchain (GOOS=wasip1,
// -buildmode=c-shared), the AssemblyScript guest with the asc compiler
// that .ci/wasm.sh installs (npm ci in testdata/asguest). Each is built
// once per test process.
package wasmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// testdata is runtime/wasm/testdata, found from this file's location.
func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

type build struct {
	once sync.Once
	bin  []byte
	err  error
	skip string
}

var goGuest, asGuest build

// GoGuest returns the Go example guest (testdata/goguest), built once.
func GoGuest(t testing.TB) []byte {
	t.Helper()
	goGuest.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasm-goguest")
		if err != nil {
			goGuest.err = err
			return
		}
		out := filepath.Join(dir, "guest.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = filepath.Join(testdata(), "goguest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			goGuest.err = fmt.Errorf("build Go guest: %v\n%s", err, b)
			return
		}
		goGuest.bin, goGuest.err = os.ReadFile(out)
	})
	if goGuest.err != nil {
		t.Fatal(goGuest.err)
	}
	return goGuest.bin
}

// ASGuest returns the AssemblyScript example guest (testdata/asguest),
// built once with its locally installed asc; the test is skipped, with the
// reason, when asc is not installed (run .ci/wasm.sh).
func ASGuest(t testing.TB) []byte {
	t.Helper()
	asGuest.once.Do(func() {
		dir := filepath.Join(testdata(), "asguest")
		asc := filepath.Join(dir, "node_modules", ".bin", "asc")
		if _, err := os.Stat(asc); err != nil {
			asGuest.skip = "AssemblyScript compiler not installed: run .ci/wasm.sh (npm ci in " + dir + ")"
			return
		}
		tmp, err := os.MkdirTemp("", "wasm-asguest")
		if err != nil {
			asGuest.err = err
			return
		}
		out := filepath.Join(tmp, "guest.wasm")
		cmd := exec.Command(asc, "assembly/index.ts", "--runtime", "stub", "--exportRuntime", "-O3", "--noAssert", "-o", out)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			asGuest.err = fmt.Errorf("build AssemblyScript guest: %v\n%s", err, b)
			return
		}
		asGuest.bin, asGuest.err = os.ReadFile(out)
	})
	if asGuest.skip != "" {
		t.Skip(asGuest.skip)
	}
	if asGuest.err != nil {
		t.Fatal(asGuest.err)
	}
	return asGuest.bin
}
