package natscluster

import "syscall"

// procAttr kills a node with its test process, so that a test binary
// killed by -timeout or a panic leaves no server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
