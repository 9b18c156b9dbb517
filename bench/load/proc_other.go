//go:build !linux

package main

import "syscall"

// childAttr makes a child lead a process group of its own, with group.
// (Only Linux can also tie a child's life to this process's, and only
// Linux has the /proc this harness reads.)
func childAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group}
}
