// Command cegen writes the CloudEvents protobuf format, the generic ingest
// service and their Go code (run by go generate in runtime/grpcingest/cepb).
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/eventrunner/eventrunner/gen/protogen"
)

func main() {
	out := flag.String("out", ".", "directory of the Go package")
	protoDir := flag.String("proto", "proto", "directory for the .proto files, relative to -out")
	goPkg := flag.String("go-package", "github.com/eventrunner/eventrunner/runtime/grpcingest/cepb;cepb", "go_package of the files")
	flag.Parse()
	if err := run(*out, *protoDir, *goPkg); err != nil {
		fmt.Fprintln(os.Stderr, "cegen:", err)
		os.Exit(1)
	}
}

func run(out, protoDir, goPkg string) error {
	files := protogen.IngestFiles(goPkg)
	gofiles, err := protogen.Generate(files)
	if err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(p); err == nil && string(old) == string(b) {
			return nil
		}
		return os.WriteFile(p, b, 0o644)
	}
	keep := map[string]bool{}
	for _, f := range files {
		keep[filepath.Join(out, filepath.FromSlash(path.Join(protoDir, f.Path)))] = true
		if err := write(path.Join(protoDir, f.Path), protogen.Print(f)); err != nil {
			return err
		}
	}
	if err := removeStale(filepath.Join(out, protoDir), keep); err != nil {
		return err
	}
	for _, g := range gofiles {
		if err := write(path.Base(g.Name), g.Content); err != nil {
			return err
		}
	}
	return nil
}

// removeStale deletes the .proto files under dir that are not in keep (a
// file that moved), and the directories left empty.
func removeStale(dir string, keep map[string]bool) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			dirs = append(dirs, p)
		case filepath.Ext(p) == ".proto" && !keep[p]:
			return os.Remove(p)
		}
		return nil
	})
	for i := len(dirs) - 1; i > 0; i-- { // deepest first; dir itself stays
		if entries, rerr := os.ReadDir(dirs[i]); rerr == nil && len(entries) == 0 {
			os.Remove(dirs[i])
		}
	}
	return err
}
