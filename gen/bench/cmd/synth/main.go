// Command synth writes the benchmark inputs: one schema and knowledge bases
// of 10, 100 and 1000 distinct rules, each rule firing at most once (it
// retracts itself) when Sample.Level exceeds its index. A fact's Level thus
// says exactly how many rules fire. Output is deterministic.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// Sizes are the knowledge-base sizes benchmarked.
var sizes = []int{10, 100, 1000}

const schemaJSON = `{
  "$id": "com.bench.sample/v1",
  "description": "Synthetic fact for rule benchmarks.",
  "type": "object",
  "required": ["level", "amount", "count", "code"],
  "properties": {
    "level": {"type": "integer"},
    "amount": {"type": "number"},
    "count": {"type": "integer"},
    "code": {"type": "string"},
    "label": {"type": "string"},
    "score": {"type": "number"},
    "hits": {"type": "integer"}
  }
}
`

func main() {
	out := flag.String("out", "testdata", "directory to write schemas/ and rules/ into")
	flag.Parse()
	if err := write(*out); err != nil {
		log.Fatal(err)
	}
}

func write(out string) error {
	files := map[string]string{"schemas/com.bench.sample/v1.json": schemaJSON}
	for _, n := range sizes {
		dir := fmt.Sprintf("rules/bench%d", n)
		files[dir+"/kb.yaml"] = fmt.Sprintf("name: bench%d\nversion: 1.0.0\non: [com.bench.sample]\nfacts:\n  Sample: com.bench.sample/v1\nmax_cycles: %d\n", n, n+10)
		files[dir+"/rules.grl"] = grl(n)
	}
	for rel, content := range files {
		p := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// grl returns n distinct rules. Rule i matches when Sample.Level > i, plus a
// condition that holds for benchmark facts but differs per rule, so no two
// rules are alike. Saliences are distinct (n-i) so grule's choice is
// deterministic.
func grl(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("R%04d", i)
		var extra, action string
		switch i % 4 {
		case 0:
			extra = fmt.Sprintf("Sample.Amount >= %d.5", i)
			action = fmt.Sprintf("Sample.Score = Sample.Score + %d.25;", i)
		case 1:
			extra = fmt.Sprintf(`Sample.Code != "c%d"`, i)
			action = fmt.Sprintf("Sample.Count = Sample.Count + %d;", i%7+1)
		case 2:
			extra = fmt.Sprintf("Sample.Count %% %d >= 0 && Sample.Amount * 2 > %d", i%9+2, i)
			action = fmt.Sprintf("Sample.Score = Sample.Score * 1.0%d;", i%10)
		case 3:
			extra = fmt.Sprintf(`Sample.Code.Len() < %d || Sample.Label == "l%d"`, i+100, i)
			action = fmt.Sprintf(`Sample.Label = "r%d";`, i)
		}
		fmt.Fprintf(&b, "rule %s \"benchmark rule %d\" salience %d {\n    when\n        Sample.Level > %d && %s\n    then\n        %s\n        Sample.Hits = Sample.Hits + 1;\n        Retract(\"%s\");\n}\n\n",
			name, i, n-i, i, extra, action, name)
	}
	return b.String()
}
