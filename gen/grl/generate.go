package grl

// The semantics tests run knowledge bases of testdata/sem both compiled
// (package semgen, generated here) and through grule.
//go:generate go run ../cmd/eventgen -q -grpc=false -root testdata/sem -out ../../semgen
//go:generate go run ../cmd/eventgen -q -grpc=false -root testdata/bench -out ../../benchgen
