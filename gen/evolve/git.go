package evolve

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Base is a base revision's schemas/ and rules/, extracted from git.
type Base struct {
	// Root is the directory that plays the repository root's part for the
	// base revision; remove it with Close.
	Root   string
	Commit string // full commit hash
	tmp    string
}

// Close removes the extracted tree.
func (b *Base) Close() error { return os.RemoveAll(b.tmp) }

// ExtractBase writes the schemas/ and rules/ of git revision ref (as seen
// from root, which may be a subdirectory of the work tree) into a temporary
// directory. It runs the git binary (git rev-parse, ls-tree, archive)
// rather than linking a git library.
func ExtractBase(ctx context.Context, root, ref string) (*Base, error) {
	top, err := git(ctx, root, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("base %s: %s is not in a git work tree: %w", ref, root, err)
	}
	prefix, err := git(ctx, root, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	commit, err := git(ctx, root, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("base %s: no such commit (for a pull request fetch the base branch, e.g. git fetch origin main): %w", ref, err)
	}
	var paths []string
	for _, dir := range []string{"schemas", "rules"} {
		p := prefix + dir
		out, err := git(ctx, top, "ls-tree", "--name-only", commit, "--", p)
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", ref, err)
		}
		if out != "" {
			paths = append(paths, p)
		}
	}
	tmp, err := os.MkdirTemp("", "eventrunner-base-")
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	b := &Base{Root: filepath.Join(tmp, filepath.FromSlash(prefix)), Commit: commit, tmp: tmp}
	if err := os.MkdirAll(b.Root, 0o755); err != nil {
		b.Close()
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	if len(paths) == 0 {
		return b, nil
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"archive", "--format=tar", commit, "--"}, paths...)...)
	cmd.Dir = top
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	if err := cmd.Start(); err != nil {
		b.Close()
		return nil, fmt.Errorf("base %s: git archive: %w", ref, err)
	}
	xerr := untar(out, tmp)
	_, _ = io.Copy(io.Discard, out)
	if werr := cmd.Wait(); werr != nil {
		b.Close()
		return nil, fmt.Errorf("base %s: git archive: %v: %s", ref, werr, strings.TrimSpace(stderr.String()))
	}
	if xerr != nil {
		b.Close()
		return nil, fmt.Errorf("base %s: extract: %w", ref, xerr)
	}
	return b, nil
}

// untar writes regular files and directories of a tar stream under dir,
// refusing paths that would escape it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("unsafe path %q in archive", h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %s", args[0], msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}
