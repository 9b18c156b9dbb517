package chromiumtest

import (
	"bytes"
	"fmt"
	"image/png"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeTB records how a helper gave up instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Skip(args ...any)  { f.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any) { f.failed = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn on a fakeTB in a goroutine of its own, as the testing
// package runs a test, so that Skip and Fatal end only fn.
func call(t *testing.T, fn func(testing.TB)) *fakeTB {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// fakeChromium writes a shell script to stand in for Chromium and points
// SEALSTORE_CHROMIUM at it.
func fakeChromium(t *testing.T, script string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(varBinary, path)
}

func TestMissingChromium(t *testing.T) {
	for _, tc := range []struct {
		require string
		skip    bool
	}{{"", true}, {"0", true}, {"1", false}} {
		t.Run("require="+tc.require, func(t *testing.T) {
			t.Setenv(varBinary, filepath.Join(t.TempDir(), "no-chromium"))
			t.Setenv(varRequire, tc.require)
			f := call(t, func(tb testing.TB) { DOM(tb, "https://127.0.0.1:1/") })
			if tc.skip && (f.skipped == "" || f.failed != "") {
				t.Fatalf("skipped %q, failed %q; want a skip", f.skipped, f.failed)
			}
			if !tc.skip && (f.failed == "" || f.skipped != "") {
				t.Fatalf("skipped %q, failed %q; want a failure", f.skipped, f.failed)
			}
			if msg := f.skipped + f.failed; !strings.Contains(msg, "apt-get install") || !strings.Contains(msg, varBinary) {
				t.Errorf("message %q does not say how to get Chromium", msg)
			}
		})
	}
}

func TestFailureShowsStderr(t *testing.T) {
	fakeChromium(t, "echo 'first line' >&2\necho 'it broke: no display' >&2\nexit 3\n")
	t.Setenv(varRequire, "")
	f := call(t, func(tb testing.TB) { DOM(tb, "https://127.0.0.1:1/") })
	for _, want := range []string{"it broke: no display", "exit status 3", "--no-sandbox", "--dump-dom"} {
		if !strings.Contains(f.failed, want) {
			t.Errorf("failure %q does not contain %q", f.failed, want)
		}
	}
}

func TestFlagsAndProfile(t *testing.T) {
	fakeChromium(t, `for a in "$@"; do echo "$a"; done`+"\n")
	got := strings.Split(strings.TrimSpace(DOM(t, "https://127.0.0.1:1/x")), "\n")
	for _, want := range append(flags, "--dump-dom", "https://127.0.0.1:1/x") {
		if !contains(got, want) {
			t.Errorf("chromium was not given %s; args: %q", want, got)
		}
	}
	var profile string
	for _, a := range got {
		if p, ok := strings.CutPrefix(a, "--user-data-dir="); ok {
			profile = p
		}
	}
	if fi, err := os.Stat(profile); err != nil || !fi.IsDir() {
		t.Errorf("--user-data-dir=%q is not a fresh directory: %v", profile, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestKillsLeftovers checks that a helper Chromium leaves behind is killed
// with its process group.
func TestKillsLeftovers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	fakeChromium(t, "sleep 300 >/dev/null 2>&1 </dev/null &\necho $! > "+pidFile+"\necho '<html></html>'\n")
	DOM(t, "https://127.0.0.1:1/")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the helper (pid %d) outlived the run", pid)
		}
	}
}

// alive reports whether pid runs (a zombie awaiting its reaper does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || !bytes.HasPrefix(stat[i+1:], []byte(" Z"))
}

// The tests below run the real Chromium.

func serve(t *testing.T, pages map[string]string) string {
	t.Helper()
	mux := http.NewServeMux()
	for path, body := range pages {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
				w.Header().Set("Content-Type", t)
			}
			fmt.Fprint(w, body)
		})
	}
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDOMWaitsForScriptsAndFetches(t *testing.T) {
	t.Parallel()
	url := serve(t, map[string]string{
		"/{$}":     `<!doctype html><body><p id="out">waiting</p><script src="/page.js"></script></body>`,
		"/page.js": `setTimeout(async () => { const r = await fetch("/data"); document.getElementById("out").textContent = "got " + await r.text(); }, 300);`,
		"/data":    "fetched-42",
	})
	if dom := DOM(t, url+"/"); !strings.Contains(dom, "got fetched-42") {
		t.Fatalf("the DOM does not hold what the script fetched:\n%s", dom)
	}
}

func TestScreenshot(t *testing.T) {
	t.Parallel()
	url := serve(t, map[string]string{
		"/{$}":      `<!doctype html><link rel="stylesheet" href="/page.css"><body><div></div></body>`,
		"/page.css": `body { margin: 0; background: #ffffff; } div { width: 200px; height: 100px; background: #ff0000; }`,
	})
	path := filepath.Join(t.TempDir(), "shot.png")
	Screenshot(t, url+"/", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1280×900", b)
	}
	for _, p := range []struct {
		x, y    int
		r, g, b uint32
	}{{10, 10, 0xffff, 0, 0}, {600, 600, 0xffff, 0xffff, 0xffff}} {
		if r, g, b, _ := img.At(p.x, p.y).RGBA(); r != p.r || g != p.g || b != p.b {
			t.Errorf("pixel (%d,%d) is %04x %04x %04x, want %04x %04x %04x", p.x, p.y, r, g, b, p.r, p.g, p.b)
		}
	}
}
