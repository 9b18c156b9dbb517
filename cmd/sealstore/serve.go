package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
)

// storeFlags defines the flags that say where the data is (shared by serve,
// init and tokens) and returns them, read after parsing.
func storeFlags(fs *flag.FlagSet, s settings) func() (dataDir string, b server.Backend) {
	configFlag(fs)
	dir := s.String(fs, "data-dir", datadir.Default, "data directory: the embedded store, its root key and the self-signed certificate")
	kind := s.String(fs, "store", server.KindBolt, "where records and keys live: bolt (embedded, the data directory) or dynamodb (DynamoDB + KMS)")
	region := s.String(fs, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	ddb := s.String(fs, "dynamodb-endpoint", "", "DynamoDB endpoint URL (https://, or http:// to a loopback address)")
	kms := s.String(fs, "kms-endpoint", "", "KMS endpoint URL (https://, or http:// to a loopback address)")
	key := s.String(fs, "kms-key-id", "", "ARN of the KMS key that wraps branch keys (--store dynamodb)")
	prefix := s.String(fs, "table-prefix", "", "prefix of the DynamoDB tables sealstore owns")
	return func() (string, server.Backend) {
		return *dir, server.Backend{Kind: *kind, Region: *region, DynamoDBEndpoint: *ddb, KMSEndpoint: *kms, KMSKeyID: *key, TablePrefix: *prefix}
	}
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s, err := loadSettings(args)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore serve: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := server.Config{Version: buildVersion(), Out: stdout, Log: stderr}
	where := storeFlags(fs, s)
	listen := s.String(fs, "listen", "127.0.0.1:8443", "HTTPS address")
	httpListen := s.String(fs, "http-listen", "", "optional plain-HTTP address that only redirects to HTTPS")
	cert := s.String(fs, "tls-cert", "", "certificate chain PEM file, reloaded on SIGHUP (default: a self-signed one in the data directory)")
	key := s.String(fs, "tls-key", "", "private key PEM file for --tls-cert")
	drain := s.String(fs, "drain-timeout", "", "how long SIGTERM waits for in-flight requests (default 30s)")
	ttl := s.String(fs, "key-cache-ttl", "", "how long a branch key stays cached; KMS is called about once per TTL per collection (default 5m)")
	size := s.String(fs, "key-cache-size", "", "how many branch keys the cache holds (default 1000)")
	rest, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	cfg.DataDir, cfg.Backend = where()
	cfg.Listen, cfg.HTTPListen, cfg.TLSCert, cfg.TLSKey = *listen, *httpListen, *cert, *key
	if err := parseDurations(map[string]durationFlag{
		"drain-timeout": {*drain, &cfg.DrainTimeout}, "key-cache-ttl": {*ttl, &cfg.KeyCacheTTL},
	}); err != nil {
		fmt.Fprintf(stderr, "sealstore serve: %v\n", err)
		return exitUsage
	}
	if *size != "" {
		n, err := strconv.Atoi(*size)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "sealstore serve: --key-cache-size %q is not a positive number\n", *size)
			return exitUsage
		}
		cfg.KeyCacheSize = n
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sealstore serve: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if cfg.Audit, err = auditSettings(s); err != nil {
		fmt.Fprintf(stderr, "sealstore serve: config file: %v\n", err)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "sealstore serve: %v\n", err)
		return exitUsage
	}
	server.TuneGC()
	return runServer(ctx, cfg, stderr)
}

// runServer serves until SIGTERM or interrupt; SIGHUP reloads.
func runServer(ctx context.Context, cfg server.Config, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	reload := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	if err := server.Run(ctx, cfg, reload); err != nil {
		fmt.Fprintf(stderr, "sealstore serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

type durationFlag struct {
	s  string
	to *time.Duration
}

// parseDurations parses each non-empty flag value as a positive duration.
func parseDurations(flags map[string]durationFlag) error {
	for name, d := range flags {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			return fmt.Errorf("--%s %q is not a positive duration such as 30s or 5m", name, d.s)
		}
		*d.to = v
	}
	return nil
}

// auditSettings reads the audit trail's settings, which only the config
// file holds.
func auditSettings(s settings) (server.AuditConfig, error) {
	c := server.AuditConfig{File: s.fileValue("audit-file"), Syslog: s.fileValue("audit-syslog"),
		SyslogFacility: s.fileValue("audit-syslog-facility")}
	switch v := s.fileValue("audit-sink-required"); v {
	case "", "false":
	case "true":
		c.SinkRequired = true
	default:
		return c, fmt.Errorf("audit-sink-required = %q: want true or false", v)
	}
	switch v := s.fileValue("audit-sync"); v {
	case "", "changes":
	case "every":
		c.SyncEvery = true
	default:
		return c, fmt.Errorf("audit-sync = %q: want changes (the default: requests that change something wait for their entry's fdatasync) or every", v)
	}
	err := parseDurations(map[string]durationFlag{
		"audit-sync-interval":       {s.fileValue("audit-sync-interval"), &c.SyncInterval},
		"audit-checkpoint-interval": {s.fileValue("audit-checkpoint-interval"), &c.CheckpointInterval},
	})
	return c, err
}
