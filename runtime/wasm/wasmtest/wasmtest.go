// Package wasmtest builds the example guests under runtime/wasm/testdata
// for tests: the Go guest with the Go toolchain (GOOS=wasip1,
// -buildmode=c-shared), the AssemblyScript guest with the asc compiler
// that .ci/wasm.sh installs (npm ci in testdata/asguest), the Rust guest
// with a rustc that has the wasm32 standard library (.ci/rust.sh installs
// Debian's). Each is built once per test process.
package wasmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

var goGuest, goFastGuest, asGuest, rustGuest build

// GoGuest returns the Go example guest (testdata/goguest), built once.
func GoGuest(t testing.TB) []byte { return goBuild(t, &goGuest, "goguest") }

// GoFastGuest returns the Go guest written the fast way, without
// encoding/json (testdata/gofastguest), built once.
func GoFastGuest(t testing.TB) []byte { return goBuild(t, &goFastGuest, "gofastguest") }

func goBuild(t testing.TB, g *build, name string) []byte {
	t.Helper()
	g.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasm-"+name)
		if err != nil {
			g.err = err
			return
		}
		out := filepath.Join(dir, "guest.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = filepath.Join(testdata(), name)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			g.err = fmt.Errorf("build %s: %v\n%s", name, err, b)
			return
		}
		g.bin, g.err = os.ReadFile(out)
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.bin
}

// ASGuest returns the AssemblyScript example guest (testdata/asguest),
// built once with its locally installed asc; without asc (run .ci/wasm.sh)
// the test is skipped with the reason, or fails under CI (skipUnlessCI).
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
		skipUnlessCI(t, asGuest.skip)
	}
	if asGuest.err != nil {
		t.Fatal(asGuest.err)
	}
	return asGuest.bin
}

// skipUnlessCI skips t for want of a toolchain, or fails it under CI
// (EVENTRUNNER_REQUIRE_SERVICES=1 or CI=true), where the .ci installers
// must have run.
func skipUnlessCI(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" || os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// RustGuest returns the Rust example guest (testdata/rustguest), built once
// with rustc alone (no cargo). The rustc is $EVENTRUNNER_RUSTC, else the
// first of /usr/bin/rustc (Debian's) and rustc on PATH whose sysroot has the
// wasm32-unknown-unknown standard library. Without one the test is skipped
// with the reason, or fails under CI (skipUnlessCI).
func RustGuest(t testing.TB) []byte {
	t.Helper()
	rustGuest.once.Do(func() {
		rustc := findRustc()
		if rustc == "" {
			rustGuest.skip = "no rustc with the wasm32-unknown-unknown standard library: run .ci/rust.sh (apt: rustc libstd-rust-dev-wasm32)"
			return
		}
		tmp, err := os.MkdirTemp("", "wasm-rustguest")
		if err != nil {
			rustGuest.err = err
			return
		}
		out := filepath.Join(tmp, "guest.wasm")
		cmd := exec.Command(rustc, "--edition", "2021", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib",
			"-C", "opt-level=3", "-C", "lto=yes", "-C", "codegen-units=1", "-C", "strip=symbols", "-o", out, "lib.rs")
		cmd.Dir = filepath.Join(testdata(), "rustguest")
		if b, err := cmd.CombinedOutput(); err != nil {
			rustGuest.err = fmt.Errorf("build Rust guest with %s: %v\n%s", rustc, err, b)
			return
		}
		rustGuest.bin, rustGuest.err = os.ReadFile(out)
	})
	if rustGuest.skip != "" {
		skipUnlessCI(t, rustGuest.skip)
	}
	if rustGuest.err != nil {
		t.Fatal(rustGuest.err)
	}
	return rustGuest.bin
}

func findRustc() string {
	if p := os.Getenv("EVENTRUNNER_RUSTC"); p != "" {
		return p
	}
	candidates := []string{"/usr/bin/rustc"}
	if p, err := exec.LookPath("rustc"); err == nil {
		candidates = append(candidates, p)
	}
	for _, rustc := range candidates {
		sysroot, err := exec.Command(rustc, "--print", "sysroot").Output()
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", "wasm32-unknown-unknown")); err == nil {
			return rustc
		}
	}
	return ""
}
