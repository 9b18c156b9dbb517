package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sealstore/sealstore/internal/server"
)

// initTimeout bounds how long init waits for tables to become active.
const initTimeout = 10 * time.Minute

func initCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s, err := loadSettings(args)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore init: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	where := storeFlags(fs, s)
	rest, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sealstore init: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	cfg := server.Config{}
	cfg.DataDir, cfg.Backend = where()
	if err := cfg.Backend.Validate(); err != nil {
		fmt.Fprintf(stderr, "sealstore init: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	if err := server.Init(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "sealstore init: %v\n", err)
		return exitFail
	}
	return exitOK
}
