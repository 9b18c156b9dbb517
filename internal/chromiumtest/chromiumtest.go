// Package chromiumtest loads pages in headless Chromium for tests: the DOM
// after the page's scripts have run, or a screenshot. It is how the tests
// see what a browser makes of a page, CSP included.
//
// Chromium is /usr/bin/chromium (Debian's chromium package) or
// $SEALSTORE_CHROMIUM. Where it is missing the test is skipped, saying how
// to install it, or, under SEALSTORE_REQUIRE_CHROMIUM=1 (which
// ./scripts/test sets), fails, so that a missing browser cannot pass as
// skipped tests.
//
// Each run has a fresh profile, no network but what the page asks for,
// accepts any certificate (for httptest's self-signed one), and is killed
// with its whole process group after a minute.
package chromiumtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	varBinary     = "SEALSTORE_CHROMIUM"
	varRequire    = "SEALSTORE_REQUIRE_CHROMIUM"
	defaultBinary = "/usr/bin/chromium"
	timeout       = 60 * time.Second
	// virtualTime is how long, in the page's virtual time, Chromium lets
	// scripts and timers run before it dumps or shoots; it waits for
	// network fetches without counting them.
	virtualTime = "10000"
	// stderrTail is how much of Chromium's stderr a failure shows.
	stderrTail = 4 << 10
)

// flags are given to every run; as root, offline, in a container.
var flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--ignore-certificate-errors",
	"--hide-scrollbars", "--virtual-time-budget=" + virtualTime,
}

// DOM loads url and returns the DOM, serialized, once the page's scripts
// and the fetches they make have run.
func DOM(t testing.TB, url string) string {
	t.Helper()
	return string(run(t, "--dump-dom", url))
}

// Screenshot loads url in a 1280×900 window and writes a PNG of it to
// path. It fails t if the file is not a PNG.
func Screenshot(t testing.TB, url, path string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	run(t, "--window-size=1280,900", "--screenshot="+abs, url)
	b, err := os.ReadFile(abs)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot of %s: %v", url, err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 100 {
		t.Fatalf("the screenshot of %s is not a PNG (%d bytes)", url, len(b))
	}
}

// binary returns Chromium's path, or skips or fails t.
func binary(t testing.TB) string {
	t.Helper()
	path := defaultBinary
	if p := os.Getenv(varBinary); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		msg := fmt.Sprintf("headless Chromium is not at %s (%v): install Debian's chromium package "+
			"(apt-get install --no-install-recommends chromium) or set %s to its path", path, err, varBinary)
		if os.Getenv(varRequire) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, varRequire)
		}
		t.Skip("skipped: " + msg)
	}
	return path
}

// run runs Chromium on args with a fresh profile and returns its stdout.
func run(t testing.TB, args ...string) []byte {
	t.Helper()
	bin := binary(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()

	args = append(append(append([]string{}, flags...), "--user-data-dir="+t.TempDir()), args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	inOwnGroup(cmd)
	// Helpers that outlive Chromium could hold its pipes open.
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err := cmd.Run()
	killGroup(cmd)
	if err != nil || ctx.Err() != nil {
		why := fmt.Sprint(err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "timed out after " + timeout.String()
		}
		t.Fatalf("chromium %s: %s after %v; stderr ends:\n%s", strings.Join(args, " "), why,
			time.Since(start).Round(time.Millisecond), tail(stderr.Bytes(), stderrTail))
	}
	t.Logf("chromium %s: %v", args[len(args)-1], time.Since(start).Round(time.Millisecond))
	return stdout.Bytes()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
