package pgtest

import "syscall"

// procAttr runs the supervisor as cred, and has the kernel signal it when
// the thread that started it (and so the test binary) goes away.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM}
}
