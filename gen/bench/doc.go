// Package bench measures eventrunner's code against its baselines
// in one run: compiled knowledge bases against grule with a reused
// knowledge-base instance, generated codecs against encoding/json, and the
// hand-written CloudEvents readers (runtime/cloudevents) against sdk-go. The
// Go benchmarks in this package and `make bench` (cmd/benchtable) run the
// same cases.
//
// The inputs under testdata/ are written by cmd/synth and compiled into
// kbgen/ by the generator.
package bench

//go:generate go run ./cmd/synth -out testdata
//go:generate go run ../cmd/eventgen -q -grpc=false -root testdata -out ../kbgen
