// Command eventgen compiles schemas/ and rules/ into generated/. It is run by
// `go generate ./...` (see gen/generate.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/eventrunner/eventrunner/gen"
)

func main() {
	root := flag.String("root", ".", "repository root holding schemas/ and rules/")
	out := flag.String("out", "generated", "output directory, relative to -root; its last element is the package name")
	quiet := flag.Bool("q", false, "print only diagnostics")
	typed := flag.Bool("grpc", true, "also emit the typed gRPC API (proto/ and typedpb/)")
	lock := flag.String("lock", "", "schema lock file, relative to -root: published versions are checked against it and new ones recorded in it")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: eventgen [-root DIR] [-out DIR] [-lock FILE]\n\nCompiles schemas/**.json and rules/*/ into typed facts, codecs and compiled knowledge bases.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(gen.Config{Root: *root, OutDir: *out, Lock: *lock, NoTypedGRPC: !*typed}, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(cfg gen.Config, quiet bool) error {
	root, out := cfg.Root, cfg.OutDir
	res, err := gen.Generate(context.Background(), cfg)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(os.Stderr, w)
	}
	wr, err := gen.Write(root, out, res.Files)
	if err != nil {
		return err
	}
	if res.Lock != nil {
		if err := gen.WriteLock(root, res.Lock); err != nil {
			return err
		}
	}
	if !quiet {
		fmt.Fprintf(os.Stderr, "eventgen: %d schemas, %d knowledge bases, bundle %s: %d files written, %d unchanged, %d removed\n",
			len(res.Bundle.Schemas), len(res.Bundle.KBs), res.Bundle.Hash, len(wr.Written), len(wr.Unchanged), len(wr.Removed))
	}
	return nil
}
