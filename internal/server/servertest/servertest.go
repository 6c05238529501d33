// Package servertest builds a complete Trove stack for tests: a fresh
// database (SQLite in a temporary directory, or PostgreSQL when
// $TROVE_TEST_DB=postgres; see dbtest), an in-memory blob store, the registry core, accounts,
// tokens and the page cache, served by an httptest.Server with the
// adapters the test mounts.
package servertest

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/trove"
)

// Password is the password of every user Env.User creates.
const Password = "correct horse battery staple"

// Options configure an Env.
type Options struct {
	Rules    []registry.Rules
	Scanners []scan.Scanner
	// UnpublishWindow is the registry's; 0 for its default.
	UnpublishWindow time.Duration
	// Reserved are the registry's reservations.
	Reserved []registry.Reservation
	// Popular and PopularAllowed are the registry's popular names (none:
	// no such check) and the names allowed through.
	Popular        []*registry.Popular
	PopularAllowed []access.Pattern
	// InactiveAfter is the registry's inactivity review threshold (0: off).
	InactiveAfter time.Duration
}

// An Env is a Trove stack for one test.
type Env struct {
	DB       *meta.DB
	Blobs    *memblob.Store
	Registry *registry.Service
	Tokens   *access.Tokens
	Users    *account.Users
	Logins   *account.Logins
	Pages    *page.Cache
	Metrics  *server.Metrics
	Audit    *audit.Log
	// Server is the server once Start has run: Wait tells when the
	// requests in flight, and their audit entries, are done.
	Server *server.Server
	// URL is the test server's URL once Start has run.
	URL string
}

// New builds a stack; nothing listens until Start.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	dir := t.TempDir()
	db := dbtest.Open(t)
	e := &Env{DB: db, Blobs: memblob.New(), Pages: page.NewCache(16 << 20), Metrics: server.NewMetrics()}
	var err error
	e.Registry, err = registry.New(registry.Config{DB: db, Blobs: e.Blobs, Scan: scan.NewPipeline(o.Scanners...), Rules: o.Rules,
		TempDir: filepath.Join(dir, "tmp"), UnpublishWindow: o.UnpublishWindow, Reserved: o.Reserved,
		Popular: o.Popular, PopularAllowed: o.PopularAllowed, InactiveAfter: o.InactiveAfter})
	if err != nil {
		t.Fatal(err)
	}
	e.Registry.Watch(func(eco trove.Ecosystem, name trove.Name) { e.Pages.Invalidate(string(eco), string(name)) })
	e.Tokens = access.NewTokens(db, nil)
	e.Users = account.NewUsers(db, nil)
	e.Logins = account.NewLogins(db, e.Tokens, nil)
	e.Audit = audit.New(db, nil)
	return e
}

// Start serves the adapters that mount returns, given the server's base
// URL, and returns the server. It is closed when the test ends.
func (e *Env) Start(t testing.TB, mount func(baseURL string) []server.Mount) *httptest.Server {
	t.Helper()
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	e.URL = ts.URL
	s := server.New(server.Options{Mounts: mount(ts.URL), Tokens: e.Tokens, DB: e.DB, Blobs: e.Blobs, Metrics: e.Metrics, Audit: e.Audit})
	s.SetReady(true)
	h, e.Server = s, s
	return ts
}

// User creates an account with Password whose email address is verified,
// as an operator's trove admin user add --verified makes it: only
// verified users may publish.
func (e *Env) User(t testing.TB, name string, admin bool) *trove.User {
	t.Helper()
	return e.newUser(t, name, admin, true)
}

// UnverifiedUser creates an account with Password whose email address is
// not verified yet.
func (e *Env) UnverifiedUser(t testing.TB, name string, admin bool) *trove.User {
	t.Helper()
	return e.newUser(t, name, admin, false)
}

func (e *Env) newUser(t testing.TB, name string, admin, verified bool) *trove.User {
	t.Helper()
	u, err := e.Users.Create(context.Background(), account.NewUser{Name: name, Email: name + "@example.test", Password: Password, Admin: admin, Verified: verified})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Token creates a token for the user allowing actions (default: every
// action) on the package patterns (default: "*"), parsed with the stack's
// rules. The token is recorded at trove.AuthMFA, as if its creator had
// signed in with a second factor: what the registry's default MFA policy
// asks of publishers. Tests of the policy itself use TokenAt.
func (e *Env) Token(t testing.TB, u *trove.User, patterns []string, actions ...access.Action) string {
	t.Helper()
	return e.TokenAt(t, trove.AuthMFA, u, patterns, actions...)
}

// TokenAt is Token with the token recorded at level l.
func (e *Env) TokenAt(t testing.TB, l trove.AuthLevel, u *trove.User, patterns []string, actions ...access.Action) string {
	t.Helper()
	if len(actions) == 0 {
		actions = access.Actions
	}
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	var ps []access.Pattern
	for _, s := range patterns {
		p, err := e.Registry.ParsePattern(s)
		if eco, _, _ := strings.Cut(s, ":"); err != nil && e.Registry.Rules(trove.Ecosystem(eco)) == nil && s != "*" {
			// An ecosystem the stack has no rules for: kept as written,
			// for tests of a token scoped to another ecosystem.
			p, err = access.Pattern(s), nil
		}
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	tok, _, err := e.Tokens.Create(context.Background(), u.ID, access.Spec{Description: "test", Packages: ps, Actions: actions, AuthLevel: l})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Principal returns the principal of a token of u for every action on
// every package, for calling the registry directly, at trove.AuthMFA (as
// Token).
func Principal(u *trove.User) *access.Principal {
	return &access.Principal{UserID: u.ID, UserName: u.Name, Admin: u.Admin, Packages: []access.Pattern{"*"}, Actions: access.Actions,
		Level: trove.AuthMFA}
}

// A Response is a response whose body was read.
type Response struct {
	*http.Response
	Text string // the body
}

// Do sends the request (without following redirects) and reads the
// response, failing the test if it cannot.
func Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{resp, string(b)}
}

// A Part is a part of a multipart form: a field, or a file if Filename
// is not "".
type Part struct {
	Name, Filename string
	Data           []byte
}

// Multipart encodes the parts as a multipart/form-data body and returns
// it with its content type.
func Multipart(t testing.TB, parts ...Part) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.Filename != "" {
			w, err = mw.CreateFormFile(p.Name, p.Filename)
		} else {
			w, err = mw.CreateFormField(p.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.Data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

// Request returns a request with the headers (name, value pairs).
func Request(t testing.TB, method, url string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}
