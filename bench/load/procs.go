package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// This file reads processes' CPU time and memory from /proc (Linux).

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100

// stat returns the fields of /proc/PID/stat after the command name (which
// may hold spaces): f[0] is field 3 (state), f[1] the parent's pid.
func stat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
}

// cpuTime is the user and system CPU time processes pids have used so
// far (0 for any gone).
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		f := stat(pid)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// tree returns pid and all its descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := stat(p); len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// memory sums the resident memory of pids: VmRSS, VmHWM (each one's peak),
// RssAnon (heaps, stacks: what the process itself holds) and RssFile
// (file pages, such as bbolt's memory-mapped database, which the kernel
// may drop and read again at will).
func memory(pids []int) mem {
	var m mem
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "VmRSS":
				m.RSS += n
			case "VmHWM":
				m.Peak += n
			case "RssAnon":
				m.Anon += n
			case "RssFile":
				m.File += n
			}
		}
	}
	return m
}

// findProcs returns the processes of this network namespace whose
// command line holds s: the emulators that scripts/emulators/start runs
// beside this program, not those of other runs in other namespaces.
func findProcs(s string) []int {
	var out []int
	ns, _ := os.Readlink("/proc/self/ns/net")
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		dir := filepath.Dir(p)
		pid, _ := strconv.Atoi(filepath.Base(dir))
		if theirs, _ := os.Readlink(filepath.Join(dir, "ns", "net")); pid != os.Getpid() && theirs == ns {
			out = append(out, pid)
		}
	}
	return out
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
