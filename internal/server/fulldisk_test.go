package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sealstore/sealstore/internal/server"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted
// when the test ends. Mounting needs root: the test script runs as root.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("SEALSTORE_REQUIRE_EMULATORS") == "1" {
			t.Fatalf("mount a tmpfs (the test script runs as root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root; scripts/test runs this as root): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the file system is full, and returns it.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

// On a full disk (a small tmpfs) requests fail with clean 503s, nothing
// acknowledged is lost, /readyz says 503 once entries cannot be written,
// and once there is room again everything works without a restart.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	if backendFor(t, t.TempDir()).Kind == server.KindDynamoDB {
		t.Skip("a full disk is the embedded default's: on DynamoDB nothing is stored locally")
	}
	dir := filepath.Join(mountTmpfs(t, 24<<20), "data")
	s := startServer(t, opts{dataDir: dir, seed: true, noHTTP: true, audit: server.AuditConfig{SegmentSize: 128 << 10}})
	adm := s.tokens[tokAdmin]
	acked := map[string]string{}
	post := func(id, secret string) int {
		r := s.do(http.MethodPost, "/items/", adm, []byte(fmt.Sprintf(`{"id":%q,"secret":%q}`, id, secret)), map[string]string{"Content-Type": "application/json"})
		if r.status == http.StatusOK {
			acked[id] = secret
		}
		return r.status
	}
	for i := range 10 {
		if st := post(fmt.Sprintf("before-%d", i), strings.Repeat("b", 100)); st != http.StatusOK {
			t.Fatalf("write before the disk filled: %d", st)
		}
	}
	filler := fill(t, dir)

	var saw503Write, ready503 bool
	statuses := map[int]int{}
	for i := 0; i < 20000 && !(saw503Write && ready503); i++ {
		if i%2 == 0 {
			st := post(fmt.Sprintf("full-%d", i), strings.Repeat("f", 32<<10))
			statuses[st]++
			saw503Write = saw503Write || st == http.StatusServiceUnavailable
		} else {
			statuses[s.do(http.MethodGet, "/items/before-1", adm, nil, nil).status]++
		}
		if i%50 == 0 {
			ready503 = s.do(http.MethodGet, "/readyz", adm, nil, nil).status == http.StatusServiceUnavailable
		}
	}
	t.Logf("on the full disk: statuses %v", statuses)
	for st := range statuses {
		if st != http.StatusOK && st != http.StatusServiceUnavailable {
			t.Errorf("on a full disk, status %d answered %d times; want only 200 and 503", st, statuses[st])
		}
	}
	if !saw503Write || !ready503 {
		t.Fatalf("on a full disk: a write refused with 503 %v, /readyz 503 %v; want both", saw503Write, ready503)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := s.do(http.MethodGet, "/readyz", adm, nil, nil); r.status != http.StatusOK {
		t.Fatalf("/readyz once the disk has room: %d %s", r.status, r.body)
	}
	if st := post("after", "a"); st != http.StatusOK {
		t.Fatalf("a write once the disk has room: %d", st)
	}
	for id, secret := range acked {
		r := s.do(http.MethodGet, "/items/"+id, adm, nil, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), secret) {
			t.Errorf("acknowledged %s reads back %d", id, r.status)
		}
	}
}
