package pgtest

import "syscall"

// sysProcAttr runs the server as cred (nil: as ourselves) and has the kernel send
// it SIGQUIT (PostgreSQL's immediate shutdown) if the test process dies first. Go
// sets the parent-death signal after the credentials, so the change of user does
// not clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
}
