//go:build !unix

package natscluster

// lockFile does not lock where there is no flock: concurrent builds each
// write their own temporary file and the last rename wins, which is
// wasteful but correct.
func lockFile(string) (func(), error) { return func() {}, nil }
