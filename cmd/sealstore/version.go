package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// buildVersion is the version this binary reports: the -ldflags version,
// and the VCS revision the go command stamped into the build (with
// ", modified" when the working tree had uncommitted changes). Builds
// without VCS information (go run, go test, -buildvcs=false) report the
// version alone.
func buildVersion() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(version, info)
}

// versionOf renders v and the VCS settings of info (nil: none).
func versionOf(v string, info *debug.BuildInfo) string {
	if info == nil {
		return v
	}
	var rev string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		return fmt.Sprintf("%s (revision %s, modified)", v, rev)
	}
	return fmt.Sprintf("%s (revision %s)", v, rev)
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "sealstore version: unexpected argument %q\n", args[0])
		return exitUsage
	}
	fmt.Fprintf(stdout, "sealstore %s\n", buildVersion())
	return exitOK
}
