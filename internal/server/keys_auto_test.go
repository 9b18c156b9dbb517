package server_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a server clock the test moves forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) opts(o opts) opts        { o.now, o.rotationCheck = c.now, 50*time.Millisecond; return o }
func schedule(s *srv, tok, coll, p string) resp {
	return s.do(http.MethodPut, keysPath(coll, "/schedule"), tok, []byte(`{"rotationPeriod":"`+p+`"}`), nil)
}

// waitKeyVersion waits until collection c's active version is v.
func (s *srv) waitKeyVersion(tok, c string, v int) keyStatusJSON {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.keyStatus(tok, c)
		if st.ActiveVersion == v {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: active version %d after 30 s; want %d", c, st.ActiveVersion, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAutomaticRotations waits until the audit trail holds n keys.rotate
// entries made by the server itself (30 s at most) and returns them all:
// an entry is written after its rotation, which the key status may show
// first.
func (s *srv) waitAutomaticRotations(tok string, n int) []auditEntry {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		es := s.automaticRotations(tok)
		if len(es) >= n || time.Now().After(deadline) {
			return es
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// automaticRotations is the audit trail's keys.rotate entries made by the
// server itself.
func (s *srv) automaticRotations(tok string) []auditEntry {
	var out []auditEntry
	for _, e := range s.mustAudit(tok, "keys.rotate") {
		if e.Token == "sealstore" {
			out = append(out, e)
		}
	}
	return out
}

// With a rotation period set and the server's clock past it, the server's
// own check (here every 50 ms) rotates the key once, records stay
// readable, and the audit trail holds a keys.rotate entry by "sealstore"
// naming the new version.
func TestKeysAutomaticRotation(t *testing.T) {
	t.Parallel()
	var c clock
	s := startServer(t, c.opts(opts{seed: true, noHTTP: true}))
	adm := s.tokens[tokAdmin]
	s.mustCollection("auto", custSchema)
	p := recPath("auto", "r1")
	want := map[string]map[string]any{p: s.docPut(adm, p, map[string]string{"id": "r1"}, "email", "a@x", "secret", "s1")}
	if r := schedule(s, adm, "auto", "1h"); r.status != http.StatusOK {
		t.Fatalf("PUT schedule 1h: %s", r)
	}
	time.Sleep(300 * time.Millisecond) // checks that find nothing due
	if st := s.keyStatus(adm, "auto"); st.ActiveVersion != 1 {
		t.Fatalf("rotated before the period: %+v", st)
	}

	c.advance(2 * time.Hour)
	s.waitKeyVersion(adm, "auto", 2)
	s.waitAutomaticRotations(adm, 1)
	time.Sleep(300 * time.Millisecond) // more checks: the new version is not due
	st := s.keyStatus(adm, "auto")
	if st.ActiveVersion != 2 || len(st.Versions) != 2 || st.NextRotation == nil {
		t.Fatalf("after the period: %+v; want version 2 active, two versions, a next rotation", st)
	}
	s.wantRecords(adm, "after the automatic rotation", want)
	es := s.automaticRotations(adm)
	if len(es) != 1 || es[0].Collection != "auto" || es[0].Outcome != "ok" ||
		!strings.HasPrefix(es[0].Detail, "automatic") || !strings.HasSuffix(es[0].Detail, "version=2 id="+st.Versions[1].ID) {
		t.Fatalf("audit entries of automatic rotations: %+v; want one, ok, naming version 2 (%s)", es, st.Versions[1].ID)
	}
}

// A due rotation that fails (KMS unreachable) is in the audit trail too,
// with its outcome; the next attempt waits 10 minutes and succeeds once
// KMS is back.
func TestKeysAutomaticRotationFailureAudited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	proxy := proxyFor(t, b.KMSEndpoint)
	b.KMSEndpoint = proxy.URL()
	var c clock
	s := startServer(t, c.opts(opts{dataDir: dir, backend: &b, noHTTP: true, seed: true}))
	tok := s.tokens[tokAdmin]
	s.mustCollection("auto", custSchema)
	if r := schedule(s, tok, "auto", "1h"); r.status != http.StatusOK {
		t.Fatalf("PUT schedule 1h: %s", r)
	}

	proxy.Down()
	c.advance(2 * time.Hour)
	es := s.waitAutomaticRotations(tok, 1)
	if len(es) != 1 || es[0].Collection != "auto" || es[0].Outcome != "error" || strings.Contains(es[0].Detail, "version=") {
		t.Fatalf("audit entries of automatic rotations with KMS down: %+v; want one, outcome error, no version", es)
	}
	time.Sleep(300 * time.Millisecond) // more checks: the next attempt waits
	if n := len(s.automaticRotations(tok)); n != 1 {
		t.Fatalf("%d automatic rotation entries within 10 minutes of a failure; want 1", n)
	}

	proxy.Up()
	c.advance(11 * time.Minute)
	st := s.waitKeyVersion(tok, "auto", 2)
	es = s.waitAutomaticRotations(tok, 2)
	if len(es) != 2 || es[1].Outcome != "ok" || !strings.HasSuffix(es[1].Detail, "version=2 id="+st.Versions[1].ID) {
		t.Fatalf("audit entries of automatic rotations once KMS is back: %+v; want a second one, ok, naming version 2", es)
	}
}
