package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/meta"
)

// Set at release build time with -ldflags "-X main.version=… -X main.commit=… -X main.date=…"
// (scripts/release.sh). A build without them reports what the Go toolchain
// recorded: the module version of a go install, the VCS revision of a
// build in a checkout.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what trove version reports.
type buildInfo struct {
	Version, Commit, Date, Go, Platform string
	Schema                              int64
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Schema: meta.LatestSchema()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && b.Commit != "" && commit == "":
				b.Commit += "-dirty"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this build's version, commit, date, Go version, platform and database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := currentBuild()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "trove %s\n", b.Version)
			for _, kv := range [][2]string{{"commit", b.Commit}, {"built", b.Date}, {"go", b.Go}, {"platform", b.Platform}} {
				if kv[1] != "" {
					fmt.Fprintf(w, "%-9s%s\n", kv[0], kv[1])
				}
			}
			fmt.Fprintf(w, "%-9s%d (newest database migration this build knows)\n", "schema", b.Schema)
			return nil
		},
	}
}
