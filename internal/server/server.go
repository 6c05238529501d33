// Package server assembles Trove's HTTP surface: it mounts each ecosystem
// adapter under its prefix, wraps every request in the same middleware
// (request ID, recovery, authentication, logging, metrics) and turns
// endpoint errors into responses through one function, status.
//
// # Request flow
//
//	net/http ─► Server.ServeHTTP
//	             ├─ /healthz, /readyz, /metrics, /.well-known/security.txt
//	             └─ /npm/…, /pypi/… ─► adapter.Route(r) ─► endpoint(w, r) error
//	                                        │                    │
//	                                        └── not found ───────┴─► status(err) ─► adapter.WriteError
//
// Middleware order, outermost first: request ID, client address and the
// slow-body guard, access log and metrics, panic recovery,
// authentication, rate limits (see [Guards]). The request context carries
// only the principal (access.PrincipalFrom) and the request ID (RequestID).
package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// An Adapter serves one ecosystem's protocol under a path prefix.
type Adapter interface {
	// Route maps a request, whose URL path has the adapter's prefix
	// removed, to one of its endpoints: a short stable name for metrics and
	// logs, and the function serving it. A nil function means no endpoint
	// matches, and the client gets a 404.
	Route(r *http.Request) (name string, serve func(http.ResponseWriter, *http.Request) error)
	// WriteError writes an error response in the protocol's own format.
	// msg is meant for the person using the client.
	WriteError(w http.ResponseWriter, r *http.Request, status int, msg string)
	// Routes lists the adapter's endpoints: its route table, which Route
	// serves from, so that documentation and the authorization tests
	// cover every endpoint.
	Routes() []adapter.Route
}

// A Mount is an adapter at a path prefix such as "/npm", or a plain
// handler (Handler set, Adapter nil) that keeps its own error format, such
// as the transparency log's.
type Mount struct {
	Prefix    string
	Ecosystem string // names the mount in routes: "<ecosystem>.<endpoint>"
	Adapter   Adapter
	Handler   http.Handler
}

// Options configure a Server.
type Options struct {
	Mounts  []Mount
	Tokens  *access.Tokens
	DB      Pinger // the metadata database, for /readyz
	Blobs   blob.Store
	Metrics *Metrics
	// AccessLog logs one line per request at level Info.
	AccessLog bool
	// Guards protect the server from clients that misbehave.
	Guards Guards
	// Security is served at /.well-known/security.txt.
	Security SecurityTxt
	// Transport: HSTS, and the refusal of credentials over plain HTTP.
	Transport Transport
	// Web, when set, serves every path no mount or built-in endpoint
	// takes (the web interface at "/"), with the same logs and metrics as
	// a plain mount (route "web.all"). Without it, such paths get a plain
	// 404 naming what Trove serves (Served).
	Web http.Handler
	// Writable, when set, returns an error while the server must not
	// change anything (its transparency log is behind what it published):
	// every request that may write, any method but GET and HEAD and every
	// sign-in, is then answered 503 with that error's message, and
	// /readyz says so while still reporting ready (reads are served). The
	// error's message starts with "read-only:".
	Writable func() error
	// Audit, when set, records every mutating request of the mounts (the
	// web interface records its own, by page).
	Audit *audit.Log
}

// A Pinger reports whether a backend answers; /readyz asks it.
type Pinger interface {
	// Ping returns nil if the backend can serve requests.
	Ping(ctx context.Context) error
}

// A Server is Trove's HTTP handler.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	ready   atomic.Bool
	active  sync.WaitGroup // adapter requests being served
	idBase  string
	idCount atomic.Uint64
}

// New returns a Server. It reports ready once SetReady(true) is called.
func New(o Options) *Server {
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	var b [6]byte
	rand.Read(b[:])
	s := &Server{opts: o, mux: http.NewServeMux(), idBase: base64.RawURLEncoding.EncodeToString(b[:])}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", o.Metrics.Handler())
	s.mux.HandleFunc("GET /.well-known/security.txt", s.serveSecurityTxt)
	notFound := "not found: Trove serves " + strings.Join(Served(o.Mounts), ", ")
	if o.Web != nil {
		s.mux.Handle("/", s.plainHandler(Mount{Ecosystem: "web", Handler: o.Web}, false))
	} else {
		s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintln(w, notFound)
		})
	}
	for _, m := range o.Mounts {
		h := s.plainHandler(m, true)
		if m.Adapter != nil {
			h = s.adapterHandler(m)
		}
		s.mux.Handle(m.Prefix+"/", http.StripPrefix(m.Prefix, h))
	}
	return s
}

// Served lists what the mounts serve, as the 404 answer names it:
// "npm under /npm/".
func Served(mounts []Mount) []string {
	var served []string
	for _, m := range mounts {
		served = append(served, m.Ecosystem+" under "+m.Prefix+"/")
	}
	return served
}

// Wait waits until no adapter request is being served, or until timeout,
// and reports whether they all ended. Shutdown calls it after cancelling
// requests, so that their rollbacks finish before the process exits.
func (s *Server) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// SetReady sets what /readyz answers; serve sets it false when shutting down.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if !s.ready.Load() {
		problems = append(problems, "not serving (starting or shutting down)")
	}
	if s.opts.DB != nil {
		if err := s.opts.DB.Ping(ctx); err != nil {
			problems = append(problems, "database: "+err.Error())
		}
	}
	if s.opts.Blobs != nil {
		if _, err := s.opts.Blobs.Stat(ctx, blob.Sum(nil)); err != nil && !isNotFound(err) {
			problems = append(problems, "blob store: "+err.Error())
		}
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(problems, "\n"))
		return
	}
	if err := s.writable(); err != nil {
		fmt.Fprintln(w, "ready, "+err.Error())
		return
	}
	fmt.Fprintln(w, "ready")
}

// writable returns Options.Writable's error, if any.
func (s *Server) writable() error {
	if s.opts.Writable == nil {
		return nil
	}
	return s.opts.Writable()
}

// refuseWrite returns an error if the request may write while the server
// is read-only.
func (s *Server) refuseWrite(r *http.Request, signIn bool) error {
	if r.Method == http.MethodGet && !signIn || r.Method == http.MethodHead {
		return nil
	}
	if err := s.writable(); err != nil {
		return trove.Error(trove.ErrUnavailable, "%w", err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, blob.ErrNotFound) }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := s.idBase + "-" + encodeCount(s.idCount.Add(1))
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	r = s.markChannel(w, r)
	r.RemoteAddr = s.opts.Guards.clientAddr(r)
	client := limit.RemoteAddr(r.RemoteAddr)
	r = r.WithContext(access.WithClientAddr(limit.WithClient(r.Context(), limit.Key(client).String()), client))
	s.opts.Guards.guardBody(w, r, s.opts.Metrics)
	s.mux.ServeHTTP(w, r)
}

func encodeCount(n uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	i := 0
	for i < 7 && b[i] == 0 {
		i++
	}
	return base64.RawURLEncoding.EncodeToString(b[i:])
}

type requestIDKey struct{}

// RequestID returns the ID of the request the context belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// adapterHandler runs the middleware and an adapter endpoint.
func (s *Server) adapterHandler(m Mount) http.Handler {
	needs := make(map[string]adapter.Access) // what each endpoint needs, by name
	for _, rt := range m.Adapter.Routes() {
		needs[rt.Name] = max(needs[rt.Name], rt.Access)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.active.Add(1)
		defer s.active.Done()
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		route := m.Ecosystem + ".unknown"
		var p *access.Principal
		if s.opts.Audit != nil && audit.Mutating(r.Method) {
			// Reads, the hot path, carry no note.
			r = r.WithContext(audit.WithNote(r.Context()))
		}
		defer func() {
			if p := recover(); p != nil {
				slog.Error("panic serving request", "request_id", RequestID(r.Context()), "route", route, "panic", p)
				if !rec.wroteHeader {
					m.Adapter.WriteError(rec, r, http.StatusInternalServerError, "internal error; the request ID is "+RequestID(r.Context()))
				}
			}
			s.finish(m, r, rec, route, start)
			s.record(r, rec, route, p, m.Prefix)
		}()

		name, serve := m.Adapter.Route(r)
		if serve == nil {
			route = m.Ecosystem + ".notfound"
			m.Adapter.WriteError(rec, r, http.StatusNotFound, "not found")
			return
		}
		route = m.Ecosystem + "." + name
		err := s.requireTLS(r, needs[name], m.Prefix+r.URL.Path)
		if err == nil {
			err = s.refuseWrite(r, needs[name] == adapter.SignIn)
		}
		if err == nil && !isExchange(name) {
			p, err = s.authenticate(r)
		}
		if err == nil {
			err = s.opts.Guards.limitRequest(r, p, needs[name] == adapter.SignIn, route, s.opts.Metrics)
		}
		if err == nil {
			r = r.WithContext(access.WithPrincipal(r.Context(), p))
			err = serve(rec, r)
		}
		if err != nil {
			s.writeError(m, rec, r, route, err)
		}
	})
}

// plainHandler serves a mount with its own handler, with the same logs
// and metrics as adapters (route "<ecosystem>.all"), and its mutating
// requests in the audit log if audited (the web interface records its
// own).
func (s *Server) plainHandler(m Mount, audited bool) http.Handler {
	route := m.Ecosystem + ".all"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.active.Add(1)
		defer s.active.Done()
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				slog.Error("panic serving request", "request_id", RequestID(r.Context()), "route", route, "panic", p)
				if !rec.wroteHeader {
					http.Error(rec, "internal error; the request ID is "+RequestID(r.Context()), http.StatusInternalServerError)
				}
			}
			s.finish(m, r, rec, route, start)
			if audited {
				s.record(r, rec, route, nil, m.Prefix)
			}
		}()
		// Every request carries a principal, nil for anonymous ones, so
		// that the registry reads private packages only for those who may
		// (registry.CanRead): a token presented here (the transparency
		// log's lookups of private records) is honoured, a bad one is
		// anonymous; the web interface sets its session's user itself.
		p, err := s.authenticate(r)
		if err != nil {
			p = nil
		}
		r = r.WithContext(access.WithPrincipal(r.Context(), p))
		m.Handler.ServeHTTP(rec, r)
	})
}

// isExchange reports whether the endpoint named name is a trusted
// publishing exchange (named "oidc.*"), whose credentials are an OIDC ID
// token it verifies itself: npm sends it as Bearer credentials, which
// are not an API token to authenticate.
func isExchange(name string) bool { return strings.HasPrefix(name, "oidc.") }

// authenticate resolves the request's credentials. No credentials is not
// an error (the principal is nil); bad credentials are.
func (s *Server) authenticate(r *http.Request) (*access.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" || s.opts.Tokens == nil {
		return nil, nil
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return s.opts.Tokens.Authenticate(r.Context(), strings.TrimSpace(rest))
	case "basic":
		_, pass, ok := r.BasicAuth()
		if !ok {
			return nil, fmt.Errorf("%w: malformed Basic credentials", access.ErrUnauthenticated)
		}
		if strings.HasPrefix(pass, access.TokenPrefix) {
			return s.opts.Tokens.Authenticate(r.Context(), pass)
		}
		// A password is never checked on an API request; the client
		// endpoints that sign in with a password read it themselves.
		return nil, nil
	}
	// Never repeat the value: a client that sends an unknown scheme may
	// well have put a secret in it.
	return nil, fmt.Errorf("%w: the Authorization header is not understood; send an API token as \"Bearer <token>\" or as the password of Basic credentials", access.ErrUnauthenticated)
}

func (s *Server) writeError(m Mount, w *recorder, r *http.Request, route string, err error) {
	code := status(err)
	msg := err.Error()
	if code >= 500 {
		slog.Error("request failed", "request_id", RequestID(r.Context()), "route", route, "err", err)
		msg = "internal error; the request ID is " + RequestID(r.Context())
		switch code {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			// Unavailable, or an upstream registry failed: the
			// message says what to do, and holds no internals.
			msg = err.Error()
		}
	}
	if w.wroteHeader {
		// The response is already on its way; all we can do is log.
		slog.Warn("error after response started", "request_id", RequestID(r.Context()), "route", route, "err", err)
		return
	}
	if secs, ok := retryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	m.Adapter.WriteError(w, r, code, msg)
}

func (s *Server) finish(m Mount, r *http.Request, rec *recorder, route string, start time.Time) {
	code := rec.code()
	d := time.Since(start)
	s.opts.Metrics.observe(route, code, d.Seconds())
	if strings.HasSuffix(route, ".publish") || strings.HasSuffix(route, ".upload") {
		s.opts.Metrics.publish(m.Ecosystem, code)
	}
	if s.opts.AccessLog {
		attrs := []slog.Attr{
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", redact(r.URL.Path)),
			slog.String("route", route),
			slog.Int("status", code),
			slog.Int64("bytes", rec.n),
			slog.Duration("duration", d),
		}
		if p := access.PrincipalFrom(r.Context()); p != nil {
			attrs = append(attrs, slog.String("user", p.UserName), slog.String("token", p.TokenPublicID))
		}
		slog.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// record writes a mutating request to the audit log, once, after its
// response: who (p, nil when no token authenticated), the route, the
// path (the mount's prefix and the path below it) and the outcome.
func (s *Server) record(r *http.Request, rec *recorder, route string, p *access.Principal, prefix string) {
	if s.opts.Audit == nil || !audit.Mutating(r.Method) {
		return
	}
	e := audit.Entry{Client: limit.RemoteAddr(r.RemoteAddr).String(), Action: route, Path: prefix + r.URL.Path,
		Status: rec.code(), RequestID: RequestID(r.Context())}
	if p != nil {
		e.UserID, e.UserName, e.Credential = p.UserID, p.UserName, audit.TokenCredential(p.TokenPublicID)
		if p.PublisherID != 0 {
			e.Credential = audit.MintedCredential(p.TokenPublicID, p.PublisherID)
		}
	}
	s.opts.Audit.Record(r.Context(), e)
}

// redact removes anything shaped like a token from a logged path (npm
// logout puts the token in the URL).
func redact(path string) string { return access.Redact(path) }

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	n           int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection (for sendfile
// through ReadFrom, flushing, and hijacking).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ReadFrom keeps sendfile working for blobs on local files.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wroteHeader = true
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(onlyWriter{r.ResponseWriter}, src)
	}
	r.n += n
	return n, err
}

type onlyWriter struct{ io.Writer }

// Hijack lets an endpoint take over the connection to write a response
// net/http cannot write itself (PyPI's upload errors carry their message
// in the reason phrase). The status is read from the status line the
// endpoint writes, so that metrics and the access log still see it.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	r.wroteHeader = true
	hc := &hijackedConn{Conn: c, rec: r}
	return hc, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(hc)), nil
}

// A hijackedConn records the status of the response written on it.
type hijackedConn struct {
	net.Conn
	rec  *recorder
	line []byte // the status line, until it is complete
}

func (c *hijackedConn) Write(p []byte) (int, error) {
	if c.line != nil || c.rec.status == 0 {
		c.line = append(c.line, p[:min(len(p), 64)]...)
		// "HTTP/1.1 409 …": the code follows the first space.
		if _, rest, ok := bytes.Cut(c.line, []byte(" ")); ok && len(rest) >= 3 {
			if code, err := strconv.Atoi(string(rest[:3])); err == nil {
				c.rec.status = code
			}
			c.line = nil
		}
		if len(c.line) >= 64 {
			c.line = nil
		}
	}
	n, err := c.Conn.Write(p)
	c.rec.n += int64(n)
	return n, err
}

// CloseWrite half-closes the connection when the underlying one can.
func (c *hijackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
