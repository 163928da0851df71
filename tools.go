//go:build tools

// Package tools is the design card's place for the tools the build runs.
// They are pinned by go.mod's tool block instead (protoc-gen-go-grpc,
// staticcheck; run with `go tool`), which Go 1.24 made the way to track
// tools: an import here would pin them a second time. `make lint` fails
// when `go mod tidy` would change go.mod or go.sum.
package tools
