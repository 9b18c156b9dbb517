package main

import "syscall"

// childAttr makes a child die with this process (SIGKILL when its parent
// goes) and, with group, lead a process group of its own.
func childAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: group}
}
