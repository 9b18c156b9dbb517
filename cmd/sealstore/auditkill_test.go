package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// SIGKILL after a burst of answered reads and writes: every request that
// got an answer has its entry in the audit trail (found by its request
// id), the reads' included, which no longer wait for an fsync.
func TestAuditSIGKILLKeepsAnsweredEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	admin := p.bootstrap
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if r := p.post(ctx, admin, "seed", "s"); !r.stored() {
		t.Fatalf("seed write: %v", r)
	}
	const killAfter, workers = 1500, 16
	var (
		mu       sync.Mutex
		answered = map[string]string{} // request id → what
		n        atomic.Int64
		next     atomic.Int64
		kill     = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1)
				var r result
				what := "read"
				if i%3 == 0 {
					what = "write"
					r = p.post(ctx, admin, fmt.Sprintf("k-%d", i), "v")
				} else {
					r = p.do(ctx, http.MethodGet, "/items/seed", admin, nil)
				}
				if r.err != nil || r.status != http.StatusOK {
					continue // cut off by the kill: no answer
				}
				mu.Lock()
				answered[r.header.Get("X-Request-Id")] = what
				mu.Unlock()
				if n.Add(1) >= killAfter {
					once.Do(func() { close(kill) })
				}
			}
		})
	}
	select {
	case <-kill:
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d requests answered in 2 minutes", n.Load())
	}
	p.signal(syscall.SIGKILL)
	p.wait(exitTimeout)
	cancel()
	wg.Wait()

	p2 := startServer(t, dir)
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 1000; pages++ {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := p2.do(t.Context(), http.MethodGet, "/v1/audit?"+q.Encode(), admin, nil)
		var page struct {
			Entries []struct {
				RequestID string `json:"requestId"`
			} `json:"entries"`
			Cursor string `json:"cursor"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil {
			t.Fatalf("GET /v1/audit: %v", r)
		}
		for _, e := range page.Entries {
			seen[e.RequestID] = true
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	missing := map[string]int{}
	for id, what := range answered {
		if !seen[id] {
			missing[what]++
		}
	}
	t.Logf("%d requests answered before the kill", len(answered))
	if len(missing) > 0 {
		t.Errorf("answered requests without an audit entry after SIGKILL: %v", missing)
	}
	p2.stop()
}

// While a server holds the data directory, 'audit verify' runs the
// check in that server through its API, records and all.
func TestAuditVerifyBesideRunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	if r := p.post(t.Context(), p.bootstrap, "a", "s"); !r.stored() {
		t.Fatalf("write: %v", r)
	}
	cmd := exec.CommandContext(t.Context(), "sealstore", "audit", "verify", "--data-dir", dir, "--records", "--addr", "https://"+p.addr, "--fingerprint", p.fingerprint)
	cmd.Env = append(childEnv(), "SEALSTORE_TOKEN="+p.bootstrap)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil || !strings.Contains(errb.String(), "verifying in that server") ||
		!regexp.MustCompile(`^audit trail verifies: 1 chain, \d+ entr(y|ies); 1 record compared with its last audited write\n$`).MatchString(out.String()) {
		t.Errorf("audit verify beside the server: %v\nstdout %q\nstderr %q", err, out.String(), errb.String())
	}
	if strings.Contains(out.String()+errb.String(), p.bootstrap) {
		t.Error("the token reached the output")
	}
	p.stop()
}
