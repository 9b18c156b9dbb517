package server_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/server"
)

// Every entry reaches the file sink as it happens, with its request id
// and no record id in clear; the file is reopened on SIGHUP (rotation).
func TestAuditFileSink(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startServer(t, opts{seed: true, noHTTP: true, audit: server.AuditConfig{File: path}})
	adm := s.tokens[tokAdmin]
	s.mustCollection("sunk", custSchema)
	const id = "secret-record-id-4711"
	s.mustPut(adm, recPath("sunk", id), `{"email":"a@x"}`)
	r := s.do(http.MethodGet, recPath("sunk", id), adm, nil, map[string]string{"X-Request-Id": "trace-abc"})
	reqID := r.header.Get("X-Request-Id")
	lines := sinkLines(t, path)
	found := false
	for _, l := range lines {
		if strings.Contains(l.raw, id) {
			t.Errorf("a sink line holds the record id in clear: %s", l.raw)
		}
		if l.Type == "entry" && l.Action == "record.get" && l.RequestID == reqID && l.Record != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no record.get entry with request id %q among %d sink lines", reqID, len(lines))
	}
	// Rotation: move the file away, SIGHUP, and new entries go to a new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	s.reload <- struct{}{}
	s.mustPut(adm, recPath("sunk", "after"), `{"email":"b@x"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil && len(sinkLines(t, path)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no entry in the sink file reopened on SIGHUP after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A sink that is down is counted and logged and fails nothing; with
// audit-sink-required it fails the requests whose entries it missed.
func TestAuditSinkDown(t *testing.T) {
	t.Parallel()
	for _, required := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conns := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns <- c
				go func() { _, _ = bufio.NewReader(c).WriteTo(discard{}) }()
			}
		}()
		s := startServer(t, opts{seed: true, noHTTP: true, audit: server.AuditConfig{Syslog: "tcp://" + ln.Addr().String(), SinkRequired: required}})
		adm := s.tokens[tokAdmin]
		if r := s.do(http.MethodGet, "/items/x", adm, nil, nil); r.status != http.StatusNotFound {
			t.Fatalf("with the sink up: %d", r.status)
		}
		ln.Close() // the receiver goes away, and its connections with it
		for len(conns) > 0 {
			(<-conns).Close()
		}
		want := http.StatusNotFound
		if required {
			want = http.StatusServiceUnavailable
		}
		var r resp
		for range 5 { // the first write after the receiver left may still reach the kernel buffer
			r = s.do(http.MethodGet, "/items/x", adm, nil, nil)
		}
		if r.status != want {
			t.Errorf("sink required %v, sink down: %d %s; want %d", required, r.status, r.body, want)
		}
		m := s.do(http.MethodGet, "/metrics", adm, nil, nil)
		if n := metricSum(t, m.body, "sealstore_audit_sink_failures_total", `sink="syslog"`); n < 1 {
			t.Errorf("sink required %v: sealstore_audit_sink_failures_total{sink=syslog} = %v", required, n)
		}
		if !strings.Contains(s.log.String(), "audit sink failed") {
			t.Errorf("sink required %v: the failure is not logged", required)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type sinkLine struct {
	raw                                  string
	Type, Action, Record, RequestID, MAC string
}

func sinkLines(t *testing.T, path string) []sinkLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []sinkLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var sl sinkLine
		if err := json.Unmarshal([]byte(l), &sl); err != nil {
			t.Fatalf("sink line %q: %v", l, err)
		}
		sl.raw = l
		out = append(out, sl)
	}
	return out
}
