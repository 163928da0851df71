package image

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Probe runs `<binary> version` and returns the engine version and bundle
// hash it prints, so that the image's tag and labels come from the binary
// it contains rather than from the checkout that happens to build it. It
// fails when the binary cannot run on this machine (another OS or
// architecture); pass the values explicitly then.
func Probe(ctx context.Context, binary string) (version, bundle string, err error) {
	cmd := exec.CommandContext(ctx, binary, "version")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("image: run %s version: %v: %s", binary, err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "eventrunner" && version == "":
			version = f[1]
		case len(f) == 2 && f[0] == "bundle" && bundle == "":
			bundle = f[1]
		}
	}
	if version == "" || bundle == "" {
		return "", "", fmt.Errorf("image: %s version printed no engine version or bundle line:\n%s", binary, out)
	}
	return version, bundle, nil
}
