package image_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/image"
)

// TestDockerfileMatches keeps the Dockerfile (for users with Docker) in
// step with the image gen/image builds: same entrypoint, command, user,
// working directory and bundle label.
func TestDockerfileMatches(t *testing.T) {
	src, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	// instr returns an instruction's last occurrence: the final stage's.
	instr := func(name string) string {
		last := ""
		for _, line := range strings.Split(text, "\n") {
			if rest, ok := strings.CutPrefix(line, name+" "); ok {
				last = strings.TrimSpace(rest)
			}
		}
		if last == "" {
			t.Fatalf("Dockerfile has no %s", name)
		}
		return last
	}
	var entry, cmd []string
	if err := json.Unmarshal([]byte(instr("ENTRYPOINT")), &entry); err != nil || !slices.Equal(entry, []string{image.BinaryPath}) {
		t.Errorf("ENTRYPOINT %v (%v), want [%s]", entry, err, image.BinaryPath)
	}
	if err := json.Unmarshal([]byte(instr("CMD")), &cmd); err != nil || !slices.Equal(cmd, image.DefaultCmd) {
		t.Errorf("CMD %q (%v), want %q", cmd, err, image.DefaultCmd)
	}
	for name, want := range map[string]string{
		"USER":    fmt.Sprintf("%d:%d", image.UID, image.UID),
		"WORKDIR": image.DataDir,
		"VOLUME":  image.DataDir,
	} {
		if got := instr(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(text, image.LabelBundle+`="${BUNDLE_HASH}"`) {
		t.Errorf("Dockerfile does not label the image with %s", image.LabelBundle)
	}
}
