//go:build unix

package chromiumtest

import (
	"os/exec"
	"syscall"
)

// inOwnGroup starts cmd in a process group of its own, so that its
// renderers and helpers can be killed with it, and makes the context's
// cancellation kill that whole group.
func inOwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills whatever is left of cmd's process group once it has
// exited. The group is gone already if Chromium shut down cleanly.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
