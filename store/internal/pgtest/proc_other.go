//go:build !linux

package pgtest

import "syscall"

// sysProcAttr runs the server as cred (nil: as ourselves). Without Linux's
// parent-death signal, a test binary killed by a timeout leaves the server
// running until its directory is cleaned up.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
