// Command cegen writes the CloudEvents protobuf format, the generic ingest
// service and their Go code (run by go generate in runtime/grpc/cepb).
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
	goPkg := flag.String("go-package", "github.com/eventrunner/eventrunner/runtime/grpc/cepb;cepb", "go_package of the files")
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
	for _, f := range files {
		if err := write(path.Join(protoDir, f.Path), protogen.Print(f)); err != nil {
			return err
		}
	}
	for _, g := range gofiles {
		if err := write(path.Base(g.Name), g.Content); err != nil {
			return err
		}
	}
	return nil
}
