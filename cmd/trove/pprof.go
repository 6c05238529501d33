//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// Built with -tags pprof, trove serves Go's profiler on $TROVE_PPROF (for
// example 127.0.0.1:6060), apart from the registry's own listener. The
// default build has no profiler.
func init() {
	addr := os.Getenv("TROVE_PPROF")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "err", err)
		}
	}()
}
