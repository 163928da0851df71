//go:build !linux

package natscluster

import "syscall"

// procAttr: only Linux can tie a child's life to its parent's; elsewhere a
// test binary killed without running its cleanups leaves its nodes running.
func procAttr() *syscall.SysProcAttr { return nil }
