package gen

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/eventrunner/eventrunner"

// scanner is the JSON scanner under runtime/rules (and runtime/cloudevents).
const scanner = "runtime/jsonscan"

// TestLayering keeps the dependency directions of DESIGN.md §2 true:
// generated/ imports only runtime/rules among project packages (its typed
// gRPC subpackage imports the facts of generated/ too), runtime/
// never imports generated/ or gen/, and runtime/rules depends only on the
// standard library and the JSON scanner runtime/jsonscan, itself
// standard-library only. The scanner is shared by runtime/rules and
// runtime/cloudevents, neither of which depends on the other.
func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("go list over the module is slow; skipped in -short")
	}
	pkgs := listPackages(t, "../...")
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, dep := range p.Deps {
			if !strings.HasPrefix(dep, module+"/") {
				continue
			}
			d := strings.TrimPrefix(dep, module+"/")
			switch {
			case under(rel, "generated") && d != "runtime/rules" && d != scanner && !under(d, "generated"):
				t.Errorf("%s imports %s; generated code may import only runtime/rules (and generated/)", rel, d)
			case under(rel, "generated") && d == scanner && slices.Contains(p.Imports, module+"/"+d):
				t.Errorf("%s imports %s; generated code reads JSON through runtime/rules.Lexer", rel, d)
			case rel == "runtime/rules" && d == "runtime/cloudevents", rel == "runtime/cloudevents" && d == "runtime/rules":
				t.Errorf("%s imports %s; the two share runtime/jsonscan instead", rel, d)
			case under(rel, "runtime") && (under(d, "generated") || under(d, "gen")):
				t.Errorf("%s imports %s; runtime/ must not depend on generated/ or gen/", rel, d)
			}
		}
		if rel == "runtime/rules" || rel == scanner {
			for _, dep := range p.Deps {
				if strings.Contains(strings.Split(dep, "/")[0], ".") && (rel == scanner || dep != module+"/"+scanner) {
					t.Errorf("%s imports %s; it must stay standard-library only (runtime/rules: and %s)", rel, dep, scanner)
				}
			}
		}
	}
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T, pattern string) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", pattern).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestEngineBinaryLeavesOutEmitters: the engine binary links gen/front (for
// `eventrunner check`) but none of the emitters: jennifer, the protobuf
// and vtprotobuf generators, gen/emit and gen/protogen only run under go
// generate.
func TestEngineBinaryLeavesOutEmitters(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps is slow; skipped in -short")
	}
	out, err := exec.Command("go", "list", "-deps", "../cmd/eventrunner").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, emitter := range []string{"github.com/dave/jennifer", "google.golang.org/protobuf/cmd/protoc-gen-go", "github.com/planetscale/vtprotobuf/generator",
			module + "/gen/emit", module + "/gen/protogen"} {
			if dep == emitter || strings.HasPrefix(dep, emitter+"/") {
				t.Errorf("cmd/eventrunner links %s, an emitter", dep)
			}
		}
	}
}
