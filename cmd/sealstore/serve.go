package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/datadir"
	"github.com/sealstore/sealstore/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := server.Config{Version: version, Out: stdout, Log: stderr}
	fs.StringVar(&cfg.DataDir, "data-dir", envOr("SEALSTORE_DATA_DIR", datadir.Default), "data directory (env SEALSTORE_DATA_DIR)")
	fs.StringVar(&cfg.Listen, "listen", envOr("SEALSTORE_LISTEN", "127.0.0.1:8443"), "HTTPS address (env SEALSTORE_LISTEN)")
	fs.StringVar(&cfg.HTTPListen, "http-listen", os.Getenv("SEALSTORE_HTTP_LISTEN"), "optional plain-HTTP address that only redirects to HTTPS (env SEALSTORE_HTTP_LISTEN)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", os.Getenv("SEALSTORE_TLS_CERT"), "certificate chain PEM file, reloaded on SIGHUP (default: a self-signed one in the data directory)")
	fs.StringVar(&cfg.TLSKey, "tls-key", os.Getenv("SEALSTORE_TLS_KEY"), "private key PEM file for --tls-cert")
	drain := fs.String("drain-timeout", os.Getenv("SEALSTORE_DRAIN_TIMEOUT"), "how long SIGTERM waits for in-flight requests (env SEALSTORE_DRAIN_TIMEOUT; default 30s)")
	ttl := fs.String("key-cache-ttl", os.Getenv("SEALSTORE_KEY_CACHE_TTL"), "how long a branch key stays cached (env SEALSTORE_KEY_CACHE_TTL; default 5m)")
	rest, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	for _, d := range []struct {
		name string
		s    string
		to   *time.Duration
	}{{"drain-timeout", *drain, &cfg.DrainTimeout}, {"key-cache-ttl", *ttl, &cfg.KeyCacheTTL}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			fmt.Fprintf(stderr, "sealstore serve: --%s %q is not a positive duration such as 30s or 5m\n", d.name, d.s)
			return exitUsage
		}
		*d.to = v
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sealstore serve: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "sealstore serve: %v\n", err)
		return exitUsage
	}
	server.TuneGC()
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

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
