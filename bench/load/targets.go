package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
)

func newClient(caFile string, conns int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}, Timeout: 30 * time.Second}, nil
}

// target is a server under test, as the clients see it.
type target struct {
	url, token string
	client     *http.Client
	pid        int // 0: in this process
	stop       func()
}

func (t *target) cpu() time.Duration {
	if t.pid == 0 {
		return 0 // counted with this process
	}
	return cpuTime(t.pid)
}

// startInProcess starts server kind ("ceiling" or "sealstore") in this
// process.
func startInProcess(kind, dir string, size int) (*target, error) {
	url, token, stop, err := serve(kind, dir, size)
	if err != nil {
		return nil, err
	}
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		stop()
		return nil, err
	}
	return &target{url: url, token: token, client: client, stop: stop}, nil
}

// startProcess starts server kind in a child process (this program with
// -child), which prints "URL TOKEN" on its stdout once serving.
func startProcess(kind, dir string, size int) (*target, error) {
	cmd := exec.Command(os.Args[0], "-child", kind, "-dir", dir, "-size", strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	var url, token string
	if _, err := fmt.Fscanln(stdout, &url, &token); err != nil {
		stop()
		return nil, fmt.Errorf("%s did not start: %w", kind, err)
	}
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		stop()
		return nil, err
	}
	return &target{url: url, token: token, client: client, pid: cmd.Process.Pid, stop: stop}, nil
}

// serveChild serves kind until its stdin closes.
func serveChild(kind, dir string, size int) error {
	url, token, stop, err := serve(kind, dir, size)
	if err != nil {
		return err
	}
	fmt.Println(url, token)
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return nil
}

// serve starts kind in this process: the trivial handler, or sealstore on
// the data directory dir. token is "-" for the ceiling.
func serve(kind, dir string, size int) (url, token string, stop func(), err error) {
	switch kind {
	case "ceiling":
		url, stop, err = serveCeiling(dir, size)
		return url, "-", stop, err
	case "sealstore":
		return serveSealstore(dir, server.Backend{})
	}
	return "", "", nil, fmt.Errorf("unknown server %q", kind)
}

// serveCeiling starts the trivial handler: GET answers the JSON a read of
// a size-byte secret answers, POST decodes the JSON body and answers
// {"status":"ok"}; no token check, storage or crypto.
func serveCeiling(dir string, size int) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	if err := datadir.EnsureCert(dir); err != nil {
		return "", nil, err
	}
	certs, err := api.LoadCert(filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile))
	if err != nil {
		return "", nil, err
	}
	secret := strings.Repeat("s", size)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{"status": "ok"}
		if r.Method == http.MethodPost {
			var in map[string]string
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
				http.Error(w, "bad json", http.StatusBadRequest)
				return
			}
		} else {
			out = map[string]string{"item_id": r.URL.Path, "secret": secret}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, TLSConfig: api.TLSConfig(certs)}
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return "https://" + ln.Addr().String(), func() { srv.Close() }, nil
}

var tokenLine = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)

// serveSealstore runs server.Run (what sealstore serve runs) on dir.
// On DynamoDB, 'sealstore init' makes the tables and prints the token.
func serveSealstore(dir string, b server.Backend) (url, token string, stop func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	cfg := server.Config{DataDir: dir, Backend: b, Listen: "127.0.0.1:0", Out: &out, Log: io.Discard,
		OnListen: func(https, _ net.Addr) { addrc <- https }}
	if b.Kind == server.KindDynamoDB {
		if err := server.Init(ctx, cfg, &out); err != nil {
			cancel()
			return "", "", nil, err
		}
	}
	go func() { done <- server.Run(ctx, cfg, nil) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		return "", "", nil, fmt.Errorf("sealstore did not start: %w", err)
	}
	token = tokenLine.FindString(out.String())
	if token == "" {
		cancel()
		return "", "", nil, errors.New("no bootstrap token printed")
	}
	return "https://" + addr.String(), token, func() { cancel(); <-done }, nil
}
