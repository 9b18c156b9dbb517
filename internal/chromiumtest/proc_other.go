//go:build !unix

package chromiumtest

import "os/exec"

// inOwnGroup leaves cmd as it is: without Unix process groups only
// Chromium itself is killed on timeout.
func inOwnGroup(*exec.Cmd) {}

// killGroup does nothing without Unix process groups.
func killGroup(*exec.Cmd) {}
