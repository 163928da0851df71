// Package image builds eventrunner's OCI engine image without Docker and
// without pulling a base image: a minimal root filesystem assembled in
// memory (a non-root user, /tmp, optionally CA certificates) plus the static
// engine binary, written as an OCI image layout and a tarball that `docker
// load` and `podman load` accept.
//
// The image's tag is <engine version>-<bundle hash>, so the tag alone names
// the schemas and rules compiled into it. Builds are reproducible: layer
// timestamps and the config's creation time come from Options.Created.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/google/go-containerregistry/pkg/name"
)

// Image constants that users and tests rely on.
const (
	// UID and GID of the unprivileged user the engine runs as (the
	// "nonroot" id of distroless images).
	UID = 65532
	// BinaryPath is the engine binary inside the image.
	BinaryPath = "/eventrunner"
	// DataDir is the working directory and data volume, owned by UID.
	DataDir = "/var/lib/eventrunner"
	// CACertsPath is where CA certificates go when Options.CACerts is set.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// LabelBundle carries the bundle hash (generated.BundleHash).
	LabelBundle = "io.eventrunner.bundle-hash"
	// Repository is the image name the tarball is tagged with.
	Repository = "eventrunner"
)

// DefaultCmd serves on every interface inside the container, with JSON
// logs and data under DataDir.
var DefaultCmd = []string{"serve", "--http-addr", "0.0.0.0:8080", "--grpc-addr", "0.0.0.0:9090", "--data-dir", DataDir, "--log-format", "json"}

// Options describe one image.
type Options struct {
	// Binary is the engine binary: linux, statically linked (CGO_ENABLED=0).
	Binary string
	// Arch is the image architecture (GOARCH of the binary).
	Arch string
	// Version is the engine version (main.version of the binary).
	Version string
	// Bundle is the bundle hash compiled into the binary.
	Bundle string
	// Revision is the VCS revision, Source the repository URL (optional).
	Revision, Source string
	// Created stamps the config and every file; the same inputs and Created
	// give the same image digest.
	Created time.Time
	// CACerts is a CA bundle to copy into the image; empty leaves it out.
	CACerts string
	// Cmd overrides DefaultCmd.
	Cmd []string
}

var tagBad = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Tag is the image tag <version>-<bundle>, with characters a tag may not
// hold replaced by '_' and cut to the 128 characters a tag may have.
func Tag(version, bundle string) string {
	t := tagBad.ReplaceAllString(version+"-"+bundle, "_")
	t = strings.TrimLeft(t, ".-")
	if len(t) > 128 {
		t = t[len(t)-128:]
	}
	return t
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	if o.Bundle == "" || o.Version == "" || o.Arch == "" {
		return nil, fmt.Errorf("image: version, bundle hash and architecture are required")
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: read binary: %w", err)
	}
	var certs []byte
	if o.CACerts != "" {
		if certs, err = os.ReadFile(o.CACerts); err != nil {
			return nil, fmt.Errorf("image: read CA certificates: %w", err)
		}
	}
	base, err := layer(baseFiles(certs), o.Created)
	if err != nil {
		return nil, err
	}
	app, err := layer([]file{{name: BinaryPath[1:], mode: 0o755, data: bin}}, o.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "eventrunner image: base (passwd, group, /tmp, " + DataDir + certsNote(certs) + ")", Comment: "assembled from scratch"}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "eventrunner image: COPY eventrunner " + BinaryPath}},
	)
	if err != nil {
		return nil, fmt.Errorf("image: append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = config(o, certs != nil)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image: set config: %w", err)
	}
	return img, nil
}

func certsNote(certs []byte) string {
	if certs == nil {
		return ""
	}
	return ", CA certificates"
}

func config(o Options, certs bool) v1.Config {
	cmd := o.Cmd
	if cmd == nil {
		cmd = DefaultCmd
	}
	env := []string{"PATH=/"}
	if certs {
		env = append(env, "SSL_CERT_FILE="+CACertsPath)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":       "eventrunner",
		"org.opencontainers.image.description": "Multi-tenant event processing engine with compiled GRL rules; bundle " + o.Bundle,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.ref.name":    Tag(o.Version, o.Bundle),
		LabelBundle:                            o.Bundle,
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	if o.Source != "" {
		labels["org.opencontainers.image.source"] = o.Source
	}
	return v1.Config{
		User:         fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint:   []string{BinaryPath},
		Cmd:          cmd,
		Env:          env,
		WorkingDir:   DataDir,
		Volumes:      map[string]struct{}{DataDir: {}},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}},
		Labels:       labels,
		StopSignal:   "SIGTERM",
	}
}

// file is one entry of a layer; a nil data with mode&dir set is a directory.
type file struct {
	name     string
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

// baseFiles is the minimal root filesystem: what a static Go binary needs
// to run as a named non-root user.
func baseFiles(certs []byte) []file {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\neventrunner:x:%d:%d:eventrunner:%s:/sbin/nologin\n", UID, UID, DataDir)
	group := fmt.Sprintf("root:x:0:\nnobody:x:65534:\neventrunner:x:%d:\n", UID)
	fs := []file{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		// Go's resolver reads it to order /etc/hosts before DNS.
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "root/", dir: true, mode: 0o700},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "var/", dir: true, mode: 0o755},
		{name: "var/lib/", dir: true, mode: 0o755},
		{name: DataDir[1:] + "/", dir: true, mode: 0o755, uid: UID, gid: UID},
	}
	if certs != nil {
		fs = append(fs,
			file{name: "etc/ssl/", dir: true, mode: 0o755},
			file{name: "etc/ssl/certs/", dir: true, mode: 0o755},
			file{name: CACertsPath[1:], mode: 0o644, data: certs})
	}
	return fs
}

// layer writes files as an uncompressed tar with fixed timestamps and
// owners, and wraps it as an OCI layer (gzip-compressed by the library).
func layer(files []file, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("image: layer %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("image: layer %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image: layer: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image: layer: %w", err)
	}
	return l, nil
}

// WriteLayout writes img into an OCI image layout directory (created or
// appended to), annotated with its tag.
func WriteLayout(dir string, img v1.Image, tag string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("image: layout %s: %w", dir, err)
		}
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": tag}
	if err := p.ReplaceImage(img, matchRef(tag), layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("image: layout %s: %w", dir, err)
	}
	return nil
}

// matchRef selects index entries carrying the same tag, so rebuilding a
// tag replaces it.
func matchRef(tag string) func(v1.Descriptor) bool {
	return func(d v1.Descriptor) bool { return d.Annotations["org.opencontainers.image.ref.name"] == tag }
}

// WriteTarball writes img as a `docker load` tarball tagged
// eventrunner:<tag>.
func WriteTarball(path string, img v1.Image, tag string) error {
	ref, err := name.NewTag(Repository+":"+tag, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("image: tag: %w", err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("image: tarball %s: %w", path, err)
	}
	return nil
}
