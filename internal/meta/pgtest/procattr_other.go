//go:build !linux

package pgtest

import "syscall"

// procAttr runs the supervisor as cred. Without Linux's parent-death
// signal, a test binary killed outright leaves the server running.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
