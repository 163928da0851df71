package grl

// The semantics tests run knowledge bases of testdata/sem both compiled
// (package semgen, generated here) and through grule.
//go:generate go run ../cmd/eventgen -q -root testdata/sem -out ../../semgen
//go:generate go run ../cmd/eventgen -q -root testdata/bench -out ../../benchgen
