package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// TestCompilePattern pins the steps of simple patterns ("" when the
// pattern keeps regexp). gen/emit/internal/matchtest holds the generated
// matchers against regexp.
func TestCompilePattern(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`^[A-Z]{2}$`, `[A-Z]{2,2}`},
		{`^[0-9]{4}$`, `[0-9]{4,4}`},
		{`^[A-Z0-9-]{3,32}$`, `[-0-9A-Z]{3,32}`},
		{`^dev-[a-z0-9]{4,16}$`, `"dev-" [0-9a-z]{4,16}`},
		{`^[0-9]+\.[0-9]+\.[0-9]+$`, `[0-9]{1,-1} "." [0-9]{1,-1} "." [0-9]{1,-1}`},
		{`^a\.b{0}(?:c)\$$`, `"a.c$"`},         // literals merge across x{0} and (?:)
		{`^-?[0-9]*$`, `[-]{0,1} [0-9]{0,-1}`}, // a one-byte literal repeated is a class
		{`^[0-9]{2}[0-9]{1,2}$`, `[0-9]{2,2} [0-9]{1,2}`},
		{`^[A-Z]{2}`, ``},
		{`^$`, `<empty>`},
		{`^[0-9]+[0-9]$`, ``},
		{`^[0-9]*\.?[0-9]$`, ``}, // overlap past the optional dot
		{`[A-Z]{2}$`, ``},
		{`^(?i)k$`, ``},
		{`^[a-zé]$`, ``},
		{`^(?:ab){2}$`, ``},
		{`^a(`, ``}, // does not parse
	}
	for _, tt := range tests {
		if got := stepsString(CompilePattern(tt.pattern)); got != tt.want {
			t.Errorf("CompilePattern(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func stepsString(m *ir.Matcher) string {
	if m == nil {
		return ""
	}
	if len(m.Steps) == 0 {
		return "<empty>"
	}
	var parts []string
	for _, st := range m.Steps {
		if st.Literal != "" {
			parts = append(parts, fmt.Sprintf("%q", st.Literal))
			continue
		}
		var b strings.Builder
		b.WriteByte('[')
		for _, r := range st.Ranges {
			if r.Lo == r.Hi {
				b.WriteByte(r.Lo)
			} else {
				fmt.Fprintf(&b, "%c-%c", r.Lo, r.Hi)
			}
		}
		fmt.Fprintf(&b, "]{%d,%d}", st.Min, st.Max)
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " ")
}
