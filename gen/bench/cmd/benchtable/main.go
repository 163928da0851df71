// Command benchtable runs every benchmark case of gen/bench, ours and the
// baseline back to back in one process, and prints a Markdown table of the
// ratios. It is what `make bench` runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/eventrunner/eventrunner/gen/bench"
)

func main() {
	filter := flag.String("run", "", "only cases whose name matches this regular expression")
	flag.Parse()
	re := regexp.MustCompile(*filter)
	fmt.Println("| case | eventrunner | baseline | speed-up | allocs/op (ours / baseline) |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, c := range bench.Cases() {
		if !re.MatchString(c.Name) {
			continue
		}
		if err := c.Check(); err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: %s: results differ: %v\n", c.Name, err)
			os.Exit(1)
		}
		ours := testing.Benchmark(c.Ours)
		base := testing.Benchmark(c.Baseline)
		fmt.Printf("| %s | %s | %s | %.1f× | %d / %d |\n", c.Name, perOp(ours), perOp(base),
			nsPerOp(base)/nsPerOp(ours), ours.AllocsPerOp(), base.AllocsPerOp())
	}
	fmt.Println("\nbaseline: grule v1.20.4 with a reused knowledge-base instance (rules rows), encoding/json into the same struct (codec rows), sdk-go v2 with Validate (CloudEvent rows)")
}

func nsPerOp(r testing.BenchmarkResult) float64 {
	return float64(r.T.Nanoseconds()) / float64(max(r.N, 1))
}

func perOp(r testing.BenchmarkResult) string {
	ns := nsPerOp(r)
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
