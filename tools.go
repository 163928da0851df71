//go:build tools

// Package tools pins the tools the build runs, so `go mod tidy` keeps them.
package tools
