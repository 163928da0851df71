// Command mkimage builds eventrunner's OCI image from a static linux binary
// without Docker: `make image` runs it after cross-compiling the engine. It
// writes an OCI image layout (<out>/oci) and a tarball for `docker load` /
// `podman load` (<out>/eventrunner-<tag>.tar), tagged <version>-<bundle>.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/eventrunner/eventrunner/gen/image"
)

func main() {
	var o image.Options
	var out, created, certs string
	flag.StringVar(&o.Binary, "binary", "", "the engine binary (linux, CGO_ENABLED=0)")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "the binary's GOARCH")
	flag.StringVar(&o.Version, "version", "", "engine version (default: what `<binary> version` prints)")
	flag.StringVar(&o.Bundle, "bundle", "", "bundle hash (default: what `<binary> version` prints)")
	flag.StringVar(&o.Revision, "revision", "", "VCS revision label")
	flag.StringVar(&o.Source, "source", "", "source repository URL label")
	flag.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds (default $SOURCE_DATE_EPOCH, else 0): same inputs, same digest")
	flag.StringVar(&certs, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include when the file exists; empty to leave out")
	flag.StringVar(&out, "out", "bin/image", "output directory")
	flag.Parse()
	if err := run(context.Background(), o, out, created, certs); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o image.Options, out, created, certs string) error {
	if o.Binary == "" {
		return fmt.Errorf("-binary is required")
	}
	if o.Version == "" || o.Bundle == "" {
		v, b, err := image.Probe(ctx, o.Binary)
		if err != nil {
			return fmt.Errorf("%w (pass -version and -bundle for a binary this machine cannot run)", err)
		}
		if o.Version == "" {
			o.Version = v
		}
		if o.Bundle == "" {
			o.Bundle = b
		}
	}
	secs := int64(0)
	if created != "" {
		var err error
		if secs, err = strconv.ParseInt(created, 10, 64); err != nil {
			return fmt.Errorf("-created: %w", err)
		}
	}
	o.Created = time.Unix(secs, 0).UTC()
	if _, err := os.Stat(certs); certs != "" && err == nil {
		o.CACerts = certs
	}
	img, err := image.Build(o)
	if err != nil {
		return err
	}
	tag := image.Tag(o.Version, o.Bundle)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := image.WriteLayout(filepath.Join(out, "oci"), img, tag); err != nil {
		return err
	}
	tarPath := filepath.Join(out, image.Repository+"-"+tag+".tar")
	if err := image.WriteTarball(tarPath, img, tag); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s:%s\n  digest  %s\n  layout  %s\n  tarball %s  (docker load -i …)\n", image.Repository, tag, digest, filepath.Join(out, "oci"), tarPath)
	return nil
}
