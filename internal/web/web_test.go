package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// site is a web interface over a test database, with one user
// (alice, password alicePassword) and one administrator (root).
type site struct {
	t     *testing.T
	db    *meta.DB
	h     *Handler
	srv   *httptest.Server
	clock *clock
	users *account.Users
	ses   *account.Sessions
	toks  *access.Tokens
	alice *trove.User
	root  *trove.User
}

const alicePassword = "correct horse battery staple 1"
const rootPassword = "another correct horse staple 2"

func newSite(t *testing.T, edit ...func(*Options)) *site {
	t.Helper()
	return newSiteOn(t, dbtest.Open(t), edit...)
}

// newSiteOn is newSite on the database db.
func newSiteOn(t *testing.T, db *meta.DB, edit ...func(*Options)) *site {
	t.Helper()
	c := &clock{t: time.Now().UTC()}
	s := &site{t: t, db: db, clock: c, users: account.NewUsers(db, c.now), ses: account.NewSessions(db, c.now), toks: access.NewTokens(db, c.now)}
	var err error
	s.alice = addUser(t, db, "alice", alicePassword, false)
	s.root = addUser(t, db, "root", rootPassword, true)
	o := Options{BaseURL: "http://trove.test", Serves: []string{"npm under /npm/", "pypi under /pypi/"},
		Ecosystems: map[string]string{"npm": "/npm", "pypi": "/pypi", "go": "/go"},
		Patterns:   func(p string) (access.Pattern, error) { return access.ParsePattern(p, npmNamer{}) },
		Users:      s.users, Sessions: s.ses, Tokens: s.toks, Logins: account.NewLogins(db, s.toks, c.now), Now: c.now}
	for _, e := range edit {
		e(&o)
	}
	if s.h, err = New(o); err != nil {
		t.Fatal(err)
	}
	// As internal/server does: the channel is loopback for this test
	// server, and every request carries a principal, the Bearer token's or
	// nil.
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *access.Principal
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			p, _ = s.toks.Authenticate(r.Context(), tok)
		}
		ctx := access.WithPrincipal(adapter.WithChannel(r.Context(), adapter.Loopback), p)
		s.h.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects.
type browser struct {
	t   *testing.T
	s   *site
	c   *http.Client
	jar *jar
}

type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (s *site) browser() *browser {
	j := &jar{cookies: map[string]*http.Cookie{}}
	return &browser{t: s.t, s: s, jar: j, c: &http.Client{Jar: j, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// get fetches a path and returns the response and body.
func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.s.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, body(b.t, resp)
}

// post submits a same-origin form.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.s.srv.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, body(b.t, resp)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signIn signs in as name and returns where the sign-in redirected.
func (b *browser) signIn(name, password string) string {
	b.t.Helper()
	resp, body := b.post("/-/signin", url.Values{"name": {name}, "password": {password}, "next": {"/-/account"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in as %s: %d %s", name, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	for _, p := range []string{"/", "/-/signin", "/no/such/page"} {
		resp, _ := b.get(p)
		hd := resp.Header
		if got := hd.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s: CSP %q", p, got)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if hd.Get(k) != want {
				t.Errorf("%s: %s = %q, want %q", p, k, hd.Get(k), want)
			}
		}
	}
	if !strings.Contains(CSP, "script-src 'self';") || strings.Contains(CSP, "unsafe-inline") {
		t.Errorf("CSP allows inline script: %s", CSP)
	}
}

func TestNotFoundNamesMounts(t *testing.T) {
	s := newSite(t)
	resp, body := s.browser().get("/no/such/page")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not found: Trove serves npm under /npm/, pypi under /pypi/") {
		t.Fatalf("404: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("404 content type %q", resp.Header.Get("Content-Type"))
	}
}

func TestHomeShowsClientSetup(t *testing.T) {
	s := newSite(t)
	resp, body := s.browser().get("/")
	if resp.StatusCode != 200 {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	for _, want := range []string{"npm config set registry http://trove.test/npm/", "http://trove.test/pypi/simple/", "GOPROXY=http://trove.test/go", `lang="en"`, "<main"} {
		if !strings.Contains(body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
}

func TestStaticImmutable(t *testing.T) {
	s := newSite(t)
	u, err := s.h.files.url("trove.css")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := s.browser().get(u)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "--accent") {
		t.Fatalf("%s: %d %q", u, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := s.browser().get("/-/static/trove.000000000000.css"); resp.StatusCode != 404 {
		t.Errorf("stale static name: %d, want 404", resp.StatusCode)
	}
}

func TestSignInAndOut(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	if loc := b.signIn("alice", alicePassword); loc != "/-/account" {
		t.Fatalf("sign-in went to %q", loc)
	}
	if len(b.jar.cookies) != 1 || b.jar.cookies[cookiePlain] == nil {
		t.Fatalf("cookies %v", b.jar.cookies)
	}
	c := b.jar.cookies[cookiePlain]
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
	_, home := b.get("/")
	if !strings.Contains(home, "Sign out") {
		t.Fatal("signed-in home has no sign-out")
	}
	resp, _ := b.post("/-/signout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	// The session ended on the server, not just in the browser.
	ses, err := s.ses.List(context.Background(), s.alice.ID)
	if err != nil || len(ses) != 0 {
		t.Fatalf("sessions after sign-out: %v %v", ses, err)
	}
}

func TestSignInWrongPassword(t *testing.T) {
	s := newSite(t)
	resp, body := s.browser().post("/-/signin", url.Values{"name": {"alice"}, "password": {"nope"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("failed sign-in set a cookie")
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/-/account":            "/-/account",
		"/-/npm-login/abc?x=1":  "/-/npm-login/abc?x=1",
		"//evil.example/":       "/def",
		"/\\evil.example":       "/def",
		"https://evil.example/": "/def",
		"javascript:alert(1)":   "/def",
		"evil.example":          "/def",
		"":                      "/def",
		"/\t/evil.example":      "/def",
	} {
		if got := localPath(in, "/def"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// remote is the client address of test sign-ins made directly.
func remote() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

// httptestServer serves h as if every request came over plain HTTP from
// another machine.
func httptestServer(t *testing.T, h *Handler) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(adapter.WithChannel(r.Context(), adapter.PlainNetwork)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// npmNamer names npm packages for token patterns.
type npmNamer struct{}

func (npmNamer) Ecosystem() trove.Ecosystem { return "npm" }
func (npmNamer) Fold(s string) string       { return s }

// hashes are the test passwords' hashes, computed once per process:
// argon2id is slow on purpose, more so under the race detector.
var hashes sync.Map

// addUser stores a user with the password, as Users.Create would.
func addUser(t *testing.T, db *meta.DB, name, password string, admin bool) *trove.User {
	t.Helper()
	h, ok := hashes.Load(password)
	if !ok {
		h, _ = hashes.LoadOrStore(password, account.HashPassword(password))
	}
	u := &trove.User{Name: name, Email: name + "@example.com", Admin: admin, CreatedAt: time.Now().UTC()}
	if err := db.Tx(context.Background(), func(tx *meta.Tx) error { return tx.InsertUser(context.Background(), u, h.(string)) }); err != nil {
		t.Fatal(err)
	}
	return u
}
