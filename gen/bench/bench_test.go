package bench

import (
	"strings"
	"testing"
)

// TestCasesAgree checks, for every row of the table, that our code and the
// baseline compute the same thing.
func TestCasesAgree(t *testing.T) {
	for _, c := range Cases() {
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

func BenchmarkCases(b *testing.B) {
	for _, c := range Cases() {
		name := strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(c.Name)
		b.Run(name+"/ours", c.Ours)
		b.Run(name+"/baseline", c.Baseline)
	}
}
