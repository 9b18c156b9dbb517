package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rss returns a process's (0: this one) resident memory from /proc (Linux): the total
// now and at its peak, and now split into anonymous memory (heaps, stacks:
// what the process itself holds) and file pages (bbolt's memory-mapped
// database, which the kernel may drop and re-read at will).
func rss(pid int) string {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	v := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			v[k] = strings.TrimSpace(val)
		}
	}
	return fmt.Sprintf("RSS %s (peak %s): anonymous %s, file-backed %s", v["VmRSS"], v["VmHWM"], v["RssAnon"], v["RssFile"])
}

// workload is one kind of request against one server: op sends request i
// of worker w and waits for its answer.
type workload struct {
	name string
	op   func(w, i int) error
}

// httpWork is a workload of HTTP requests that must answer 200.
func httpWork(name string, c *http.Client, mk func(w, i int) (*http.Request, error)) workload {
	return workload{name, func(w, i int) error {
		req, err := mk(w, i)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}}
}

func jsonPost(url string, body []byte, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// drive runs conns workers of wl for d, each sending its requests one at a
// time.
func drive(wl workload, d time.Duration, conns int) result {
	name := wl.name
	if profile.file != "" && profile.phase == name && !profile.done {
		profile.done = true // the first slice of the phase only
		if f, err := os.Create(profile.file); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(d)
	start, cpu0 := time.Now(), cpu()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := wl.op(w, i); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	return result{name: name, n: len(all), errors: int(errs.Load()), elapsed: time.Since(start), cpu: cpu() - cpu0, lat: all}
}

// cpu is the CPU time used so far by this process and the servers'.
var cpu = func() time.Duration { return cpuTime(0) }

// cpuTime is the user and system CPU time of process pid (0: this one)
// so far, from /proc (Linux; 0 elsewhere).
func cpuTime(pid int) time.Duration {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100
