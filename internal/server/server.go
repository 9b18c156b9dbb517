// Package server wires sealstore's layers into a running HTTPS service,
// on the embedded default (a data directory: bbolt, a local root key file,
// a self-signed certificate) or on Amazon DynamoDB + AWS KMS: it opens the
// store and keys, serves the API, runs the background work (automatic
// key rotation, rewrap takeover), reloads certificates and tokens on
// request and drains in-flight requests on shutdown. It also runs the
// commands that work on a deployment without serving it: init, the token
// commands, audit verification and the standalone key commands.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/sink"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
)

// Table names of the embedded store.
const (
	KeyStoreTable = "sealstore_keys"
	KeyStoreName  = "sealstore"
	TokensTable   = "sealstore_tokens"
	BootstrapName = "bootstrap-admin"
	// DefaultKeyCacheSize is how many branch keys the cache holds.
	DefaultKeyCacheSize = 1000
	// DefaultTokenRefresh is how often a server on DynamoDB re-reads the
	// token list, so that a token created or revoked elsewhere takes
	// effect on every instance without a signal.
	DefaultTokenRefresh = 30 * time.Second
)

// Config is the service configuration.
type Config struct {
	DataDir    string
	Listen     string // HTTPS address
	HTTPListen string // optional plain-HTTP redirect address
	// TLSCert and TLSKey name PEM files; empty: the data directory's
	// self-signed certificate.
	TLSCert, TLSKey string
	// DrainTimeout bounds how long shutdown waits for in-flight requests.
	DrainTimeout time.Duration
	// Backend says where records and keys live; the zero value is the
	// embedded default in DataDir.
	Backend Backend
	// KeyCacheTTL is how long a branch key stays cached; KeyCacheSize how
	// many the cache holds. Zero: 5 minutes, 1000 keys.
	KeyCacheTTL  time.Duration
	KeyCacheSize int
	// TokenRefresh is how often a server on DynamoDB re-reads the token
	// list; zero: DefaultTokenRefresh.
	TokenRefresh time.Duration
	// FailureLimit failed authentications per FailureWindow from one
	// address earn it 429s; zero means the api package's defaults.
	FailureLimit  int
	FailureWindow time.Duration
	// Version is the build's version (and VCS revision), for the banner
	// and the OpenAPI document.
	Version string
	// Out receives the start banner; Log the JSON request log.
	Out, Log io.Writer
	// OnListen, if set, is called with the bound addresses once serving.
	OnListen func(https, http net.Addr)
	// RotationCheck is how often the server looks for collections whose
	// automatic key rotation is due; zero: DefaultRotationCheck.
	RotationCheck time.Duration
	// Now is the clock of key rotation and rewrap jobs (tests move it);
	// nil: time.Now.
	Now func() time.Time
	// Audit is the audit trail's sinks and durability.
	Audit AuditConfig
}

// DefaultRotationCheck is how often automatic key rotations are looked for.
const DefaultRotationCheck = time.Minute

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" || c.Listen == "" {
		return errors.New("server: a data directory and a listen address are required")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("server: --tls-cert and --tls-key go together")
	}
	return c.Backend.Validate()
}

// Run serves until ctx is done, then drains. Each value on reload
// re-reads the certificate files and the tokens.
func Run(ctx context.Context, cfg Config, reload <-chan struct{}) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	svc, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer svc.backend.close()
	return svc.serve(ctx, reload)
}

// service is a wired, not yet serving, sealstore.
type service struct {
	cfg      Config
	backend  *opened
	metrics  *api.Metrics
	kmsCalls kmsCalls
	tokens   *tokens.Store
	set      atomic.Pointer[tokens.Set]
	// reloadMu orders changes of set.
	reloadMu sync.Mutex
	certs    *api.CertSource
	log      *slog.Logger
	// sinks receive the audit trail as it is written.
	sinks        []sink.Sink
	sinkFailures *prometheus.CounterVec
}

func open(ctx context.Context, cfg Config) (_ *service, err error) {
	s := &service{cfg: cfg, log: slog.New(slog.NewJSONHandler(cfg.Log, nil)), metrics: api.NewMetrics(), sinkFailures: newSinkFailures()}
	s.kmsCalls = newKMSCalls()
	if err := s.metrics.Register(s.kmsCalls, s.sinkFailures); err != nil {
		return nil, err
	}
	for _, name := range []string{"file", "syslog"} {
		s.sinkFailures.WithLabelValues(name) // exported from the start, at zero
	}
	if s.sinks, err = openSinks(cfg.Audit); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeSinks(s.sinks)
		}
	}()
	if s.backend, err = openBackend(ctx, cfg, false, s.kmsCalls.observe); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.backend.close()
		}
	}()
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if certFile == "" {
		if err := datadir.EnsureCertIn(cfg.DataDir); err != nil {
			return nil, err
		}
		certFile, keyFile = filepath.Join(cfg.DataDir, datadir.CertFile), filepath.Join(cfg.DataDir, datadir.KeyFile)
	}
	if s.certs, err = api.LoadCert(certFile, keyFile); err != nil {
		return nil, err
	}
	s.tokens = tokens.New(s.backend.db, TokensTable)
	if err := s.tokens.Init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// bootstrap hands out the bootstrap token of an embedded data directory
// (on DynamoDB, 'sealstore init' does: several servers may start at once,
// and only one command should print it), then loads the token set. serve
// calls it once its addresses are bound, so that a start that fails
// before (a port taken) does not spend the token: it is printed, and
// marked as handed out, only by a start that then serves.
func (s *service) bootstrap(ctx context.Context) error {
	if s.backend.dir != nil {
		if err := bootstrap(ctx, s.backend.db, s.tokens, s.cfg.Out); err != nil {
			return err
		}
	}
	return s.reloadTokens(ctx)
}

func (s *service) handler(ctx context.Context) (http.Handler, func() error, error) {
	cache := newCache(s.cfg)
	if err := s.metrics.Register(cacheMetrics(cache)...); err != nil {
		return nil, nil, err
	}
	var own *audited.Service // audits the server's own operations (ownHooks, rotateLoop)
	recs, ks, err := openRecords(ctx, s.backend, cache, s.cfg.Now, s.ownHooks(&own))
	if err != nil {
		return nil, nil, err
	}
	trail, err := audit.Open(ctx, s.backend.trail, ks, s.auditOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("audit trail: %w", err)
	}
	own = audited.New(audited.Config{Rotations: recs, Trail: trail, Appended: s.auditAppended})
	h := api.New(s.apiConfig(recs, trail))
	// Rewraps and imports left running by a stopped server go on; on the
	// embedded store no other process can be running them.
	if err := recs.ResumeJobs(ctx, s.backend.dir != nil); err != nil {
		s.log.Error("resume rewrap and import jobs", slog.String("error", err.Error()))
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		s.rotateLoop(bg, own)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		s.resumeLoop(bg, recs)
	}()
	closeAll := func() error {
		stop()
		<-done
		<-done
		recs.Close()
		err := trail.Close() // its last checkpoints go to the sinks
		return errors.Join(err, closeSinks(s.sinks))
	}
	return h, closeAll, nil
}

// ownHooks tells *own (once set) of the operations the records service
// does by itself, and opens import sources with the server's AWS
// credentials, counting their KMS calls.
func (s *service) ownHooks(own **audited.Service) recordsHooks {
	return recordsHooks{
		rewritten: func(ctx context.Context, coll string, k records.Key, etag string) error {
			return (*own).RecordRewritten(ctx, coll, k, etag)
		},
		imported: func(ctx context.Context, coll string, k records.Key, etag string) error {
			return (*own).RecordImported(ctx, coll, k, etag)
		},
		importResumed: func(ctx context.Context, coll string, job records.ImportJob) error {
			return (*own).ImportResumed(ctx, coll, job)
		},
		openSource: importSources(s.kmsCalls.observe),
	}
}

// resumeLoop takes over, every records.JobLease, the rewraps and imports whose runner
// stopped without recording their end (another server died, or an outage
// kept a runner from saving).
func (s *service) resumeLoop(ctx context.Context, recs *records.Service) {
	t := time.NewTicker(records.JobLease)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := recs.ResumeJobs(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Error("resume rewrap and import jobs", slog.String("error", err.Error()))
		}
	}
}

// rotateLoop rotates the keys of collections whose automatic rotation is
// due, now and every RotationCheck; each attempt is audited (package
// audited) and a failed one logged.
func (s *service) rotateLoop(ctx context.Context, keys *audited.Service) {
	every := s.cfg.RotationCheck
	if every <= 0 {
		every = DefaultRotationCheck
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rotations, err := keys.RotateDue(ctx)
		for _, r := range rotations {
			if r.Err != nil && ctx.Err() == nil {
				s.log.Error("automatic key rotation", slog.String("collection", r.Collection), slog.String("error", r.Err.Error()))
			}
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("automatic key rotation: list the collections", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// auditAppended logs the audit entries of the server's own operations
// that could not be written.
func (s *service) auditAppended(_ context.Context, action string, err error) {
	if err != nil {
		s.log.Error("audit write failed", slog.String("action", action), slog.String("error", err.Error()))
	}
}

// newCache is the branch key cache cfg asks for.
func newCache(cfg Config) *hierarchy.Cache {
	ttl, size := cfg.KeyCacheTTL, cfg.KeyCacheSize
	if ttl <= 0 {
		ttl = hierarchy.DefaultTTL
	}
	if size <= 0 {
		size = DefaultKeyCacheSize
	}
	return hierarchy.NewCache(ttl, size, time.Now)
}

// recordsHooks are what the records service tells the server of, and
// how it opens import sources; any may be nil.
type recordsHooks struct {
	rewritten     func(ctx context.Context, coll string, k records.Key, etag string) error
	imported      func(ctx context.Context, coll string, k records.Key, etag string) error
	importResumed func(ctx context.Context, coll string, job records.ImportJob) error
	openSource    records.SourceOpener
}

// openRecords opens the key store and the records service over the
// backend's store.
func openRecords(ctx context.Context, b *opened, cache *hierarchy.Cache, now func() time.Time, h recordsHooks) (*records.Service, *keystore.Store, error) {
	ks := keystore.New(KeyStoreName, KeyStoreTable, b.db, b.root)
	if now != nil {
		ks.UseClock(now)
	}
	if err := ks.Init(ctx); err != nil {
		return nil, nil, err
	}
	recs, err := records.Open(ctx, b.db, ks, cache, records.Options{CreateTable: b.createTable, Now: now,
		Rewritten: h.rewritten, Imported: h.imported, ImportResumed: h.importResumed, OpenSource: h.openSource})
	if err != nil {
		return nil, nil, err
	}
	return recs, ks, nil
}

func (s *service) serve(ctx context.Context, reload <-chan struct{}) error {
	ln, hl, err := s.listen()
	if err != nil {
		return err
	}
	h, closeAudit, err := s.handler(ctx)
	if err == nil {
		err = s.bootstrap(ctx)
	}
	if err != nil {
		ln.Close()
		if hl != nil {
			hl.Close()
		}
		if closeAudit != nil {
			_ = closeAudit()
		}
		return err
	}
	// After the drain: requests still running append their audit entries.
	defer closeAudit()
	srv := newHTTPServer(h, s.log)
	srv.TLSConfig = api.TLSConfig(s.certs)
	servers := []*httpServer{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	var httpAddr net.Addr
	if hl != nil {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect := newHTTPServer(api.Redirect(api.RedirectConfig{Port: port, Listen: s.cfg.Listen, Certs: s.certs, Log: s.log}), s.log)
		servers = append(servers, redirect)
		httpAddr = hl.Addr()
		go func() { errc <- redirect.Serve(hl) }()
	}
	s.banner(ln.Addr(), httpAddr)
	if s.cfg.OnListen != nil {
		s.cfg.OnListen(ln.Addr(), httpAddr)
	}
	return s.loop(ctx, reload, servers, errc)
}

// listen binds the HTTPS address and, if configured, the plain-HTTP one
// (nil otherwise).
func (s *service) listen() (https, plain net.Listener, err error) {
	https, err = net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.HTTPListen == "" {
		return https, nil, nil
	}
	if plain, err = net.Listen("tcp", s.cfg.HTTPListen); err != nil {
		https.Close()
		return nil, nil, fmt.Errorf("listen %s: %w", s.cfg.HTTPListen, err)
	}
	return https, plain, nil
}

func (s *service) loop(ctx context.Context, reload <-chan struct{}, servers []*httpServer, errc <-chan error) error {
	var refresh <-chan time.Time
	if d := s.tokenRefresh(); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		refresh = t.C
	}
	for {
		select {
		case <-reload:
			s.reload(ctx)
		case <-refresh:
			if err := s.reloadTokens(ctx); err != nil {
				s.log.Error("refresh tokens: the previous token list stays in force", slog.String("error", err.Error()))
			}
		case err := <-errc:
			for _, srv := range servers {
				srv.Close()
			}
			return err
		case <-ctx.Done():
			return s.drain(servers)
		}
	}
}

func (s *service) reload(ctx context.Context) {
	if err := s.certs.Reload(); err != nil {
		s.log.Error("reload certificate: the previous certificate stays in use", slog.String("error", err.Error()))
	} else {
		s.log.Info("reloaded certificate")
	}
	if err := s.reloadTokens(ctx); err != nil {
		s.log.Error("reload tokens: the previous token list stays in force", slog.String("error", err.Error()))
	} else {
		s.log.Info("reloaded tokens", slog.Int("tokens", s.set.Load().Len()))
	}
	s.reopenSinks()
}

func (s *service) banner(https, http net.Addr) {
	out := s.cfg.Out
	fmt.Fprintf(out, "sealstore listening on https://%s\n", https)
	if s.cfg.Version != "" {
		fmt.Fprintf(out, "version: %s\n", s.cfg.Version)
	}
	if http != nil {
		fmt.Fprintf(out, "plain HTTP on http://%s redirects to HTTPS\n", http)
	}
	if fp, err := datadir.LeafFingerprint(s.certs.Get().Certificate); err == nil {
		fmt.Fprintf(out, "certificate SHA-256 fingerprint: %s\n", fp)
	}
	fmt.Fprintln(out, s.backend.desc)
	if s.backend.dir != nil {
		fmt.Fprintln(out, "WARNING: the root key is a local file (development only): anyone who can read it and the database can read every record")
	}
}
