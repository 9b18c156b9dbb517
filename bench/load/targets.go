package main

import (
	"bufio"
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
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
)

// newClient is an HTTPS client of a server whose certificate is in
// caFile, with up to conns keep-alive connections.
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

// serveChild serves kind until its stdin closes. Lines on stdin
// "profile PATH" and "stop" start and stop a CPU profile.
func serveChild(kind, dir string, size int, dynamo bool) error {
	b := server.Backend{}
	if dynamo {
		var err error
		if b, _, err = emulators(); err != nil {
			return err
		}
	}
	url, token, stop, err := serve(kind, dir, size, b)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Println(url, token)
	var prof profiler
	defer prof.stop()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, path, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "profile":
			if err := prof.start(path); err != nil {
				return err
			}
		case "stop":
			prof.stop()
		}
	}
	return nil
}

// profiler writes one CPU profile at a time.
type profiler struct{ f *os.File }

func (p *profiler) start(path string) error {
	p.stop()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

// stop ends the CPU profile, and writes beside it (FILE.allocs) the
// allocation profile: the allocations since the process started, by site.
func (p *profiler) stop() {
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	if f, err := os.Create(p.f.Name() + ".allocs"); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	p.f = nil
}

// serve starts kind in this process: the trivial handler, or sealstore on
// the data directory dir. token is "-" for the ceiling.
func serve(kind, dir string, size int, b server.Backend) (url, token string, stop func(), err error) {
	switch kind {
	case "ceiling":
		url, stop, err = serveCeiling(dir, size)
		return url, "-", stop, err
	case "sealstore":
		return serveSealstore(dir, b)
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
