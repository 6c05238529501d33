package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/limit"
)

func newServe(g *globals) *cobra.Command {
	var listen, baseURL, tlsMode string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry (SQLite and files under ./trove-data on 127.0.0.1:8080 by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if listen != "" {
				c.Listen = listen
			}
			if baseURL != "" {
				c.BaseURL = baseURL
			}
			if tlsMode != "" {
				c.TLS.Mode = tlsMode
			}
			// Listen before deriving the base URL, so that port 0 works.
			if err := finish(&c); err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.Listen)
			if err != nil {
				return hinted{fmt.Errorf("listening on %s: %w", c.Listen, err), "choose another address with --listen HOST:PORT"}
			}
			for _, scheme := range []string{"http://", "https://"} {
				if baseURL == "" && c.BaseURL == scheme+c.Listen {
					c.BaseURL = scheme + ln.Addr().String()
				}
			}
			lw := setLogger(&c)
			defer lw.Close()
			for _, w := range c.Warnings(time.Now()) {
				slog.Warn("configuration: " + w)
			}
			return serve(cmd.Context(), &c, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default 127.0.0.1:8080; env TROVE_LISTEN)")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "public URL of this server for the links it emits (default http(s)://<listen>; env TROVE_BASE_URL)")
	cmd.Flags().StringVar(&tlsMode, "tls", "", "serve https: off, files, self-signed (a local CA for trials) or acme (default off, or files with tls.cert_file; env TROVE_TLS_MODE; see docs/tls.md)")
	return cmd
}

func serve(ctx context.Context, c *config.Config, ln net.Listener) error {
	// Requests run under base, which outlives ctx: on a signal the server
	// first stops taking requests and lets running ones finish, and only
	// after the shutdown timeout cancels them (rolling back their uploads).
	base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	tlsSet, err := setupTLS(c, time.Now())
	if err != nil {
		ln.Close()
		return err
	}
	s, err := wire(ctx, c)
	if err != nil {
		ln.Close()
		return err
	}
	defer s.db.Close()

	n, err := s.users.Count(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if n == 0 {
		slog.Warn("no accounts yet; create the first administrator with: " +
			"trove admin user add NAME --email ADDRESS --admin --password-stdin --data " + c.DataDir)
	}

	follow, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followErr := make(chan error, 1)
	go func() { followErr <- s.registry.Follow(follow) }()
	startJobs(follow, c, s)

	lln := limitListener(ln, c)
	s.metrics.Connections(lln.Open, lln.Refused)
	ln = lln
	hs := &http.Server{
		Handler:           s.server,
		ReadHeaderTimeout: c.Connections.HeaderTimeout.Std(),
		IdleTimeout:       c.Connections.IdleTimeout.Std(),
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	startServing(follow, hs, ln, tlsSet, c, errc)
	s.server.SetReady(true)
	slog.Info("trove is serving", "listen", ln.Addr().String(), "data", c.DataDir,
		"npm_registry", c.BaseURL+"/npm/", "pip_index", c.BaseURL+"/pypi/simple/", "twine_repository", c.BaseURL+"/pypi/legacy/")

	var fatal error
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case err := <-followErr:
		if err == nil {
			break
		}
		// The transparency log no longer extends what this server signed:
		// stop serving rather than publish anything inconsistent.
		slog.Error("stopping: " + err.Error())
		fatal = fmt.Errorf("stopped serving: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down; waiting for requests in flight", "timeout", c.ShutdownTimeout.Std())
	s.server.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout.Std())
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		slog.Warn("requests still running at the shutdown timeout; cancelling them", "err", err)
		cancelRequests()
		hs.Close()
		if !s.server.Wait(10 * time.Second) {
			slog.Error("cancelled requests did not end within 10s; exiting anyway")
		}
	}
	if err := s.audit.Flush(context.Background()); err != nil {
		slog.Error("writing the audit log's anonymous counts", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	slog.Info("stopped")
	return fatal
}

// startServing serves hs on ln, over TLS when t is set, and sends how
// serving ended to errc.
func startServing(ctx context.Context, hs *http.Server, ln net.Listener, t *tlsSetup, c *config.Config, errc chan<- error) {
	if t == nil {
		go func() { errc <- hs.Serve(ln) }()
		return
	}
	hs.TLSConfig = t.config
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	t.run(ctx)
	if t.local != nil {
		printTrust(os.Stderr, t.local, c.BaseURL)
	}
}

// maxHeaderBytes bounds a request's headers (net/http adds 4 KiB): every
// open connection may hold that much while its headers arrive.
const maxHeaderBytes = 32 << 10

// fdReserve is what the server keeps of its open file limit for other
// than client connections: the database, blobs being served or written,
// temporary uploads, the page files.
const fdReserve = 512

// limitListener puts the configured connection limits on ln, keeping them
// below the process's open file limit.
func limitListener(ln net.Listener, c *config.Config) *limit.Listener {
	conns := c.Connections.Max
	if n, ok := openFileLimit(); ok && n < uint64(conns)+fdReserve {
		lower := int(max(int64(n)-fdReserve, 16))
		slog.Warn("connections.max is above what the open file limit allows; lowering it (raise ulimit -n to keep it)",
			"configured", conns, "open_file_limit", n, "max", lower)
		conns = lower
	}
	return limit.NewListener(ln, limit.ListenerOptions{
		Max:     conns,
		PerAddr: min(c.Connections.MaxPerAddress, conns),
		Exempt:  c.Connections.TrustedProxies,
	})
}
