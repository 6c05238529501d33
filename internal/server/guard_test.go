package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// guarded is an adapter for the guards' tests: "read" reads the body,
// "ignore" does not, and every endpoint echoes the client address.
type guarded struct{}

func (guarded) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	return name, func(w http.ResponseWriter, r *http.Request) error {
		if name == "read" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return trove.Error(trove.ErrInvalid, "reading the body: %v", err)
			}
			fmt.Fprintf(w, "%d bytes from %s", len(b), r.RemoteAddr)
			return nil
		}
		fmt.Fprintf(w, "from %s", r.RemoteAddr)
		return nil
	}
}

// Routes lists the one sign-in endpoint the tests use.
func (guarded) Routes() []adapter.Route {
	return []adapter.Route{adapter.NewRoute("login.start", http.MethodPost, "/login.start", adapter.SignIn)}
}

func (guarded) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}

func startGuarded(t *testing.T, g server.Guards) (*servertest.Env, *httptest.Server) {
	t.Helper()
	env := servertest.New(t, servertest.Options{})
	s := server.New(server.Options{Mounts: []server.Mount{{Prefix: "/g", Ecosystem: "g", Adapter: guarded{}}}, Tokens: env.Tokens, Guards: g})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return env, ts
}

// trickle sends a request whose body claims size bytes and then sends a
// byte every interval, until the server answers or closes. It returns the
// response (nil if the connection was closed without one) and how long it
// took.
func trickle(t *testing.T, ts *httptest.Server, path string, size int, interval time.Duration) (*http.Response, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(interval):
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still held the trickling request after %s", time.Since(start).Round(time.Millisecond))
		}
		return nil, time.Since(start)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	// The server closes the connection after such a request.
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the connection stayed open after the slow request")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the connection stayed open after the slow request (read timed out)")
	}
	return resp, time.Since(start)
}

// TestSlowBodyCut: a body that trickles in below the minimum rate is cut
// after the grace period, whether or not the endpoint reads it; one that
// keeps up is read in full.
func TestSlowBodyCut(t *testing.T) {
	_, ts := startGuarded(t, server.Guards{MinBodyRate: 1000, BodyGrace: 300 * time.Millisecond})
	resp, took := trickle(t, ts, "/g/read", 100_000, 50*time.Millisecond)
	if resp != nil && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("trickled body read by the endpoint: status %d, want 400 or a closed connection", resp.StatusCode)
	}
	if took > 3*time.Second {
		t.Errorf("cut after %s, want soon after the 300ms grace", took)
	}
	// The endpoint answers without reading; net/http would then read up to
	// 256 KiB of the body to reuse the connection. That read is cut too.
	resp, took = trickle(t, ts, "/g/ignore", 100_000, 50*time.Millisecond)
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Errorf("unread trickled body: response %v, want the endpoint's 200", resp)
	}
	if took > 3*time.Second {
		t.Errorf("connection closed after %s, want soon after the grace", took)
	}
	// A body that keeps up passes, however long it takes in total.
	body := strings.Repeat("y", 3000)
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /g/read HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
	for i := 0; i < len(body); i += 300 { // 3000 bytes/s for 1s
		c.Write([]byte(body[i : i+300]))
		time.Sleep(100 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	okResp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a body at 3x the minimum rate: %v", err)
	}
	b, _ := io.ReadAll(okResp.Body)
	if okResp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "3000 bytes") {
		t.Errorf("a body at 3x the minimum rate: %d %q", okResp.StatusCode, b)
	}
}

func post(t *testing.T, url, token string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

// TestRateLimits: writes without credentials, sign-in endpoints and
// publishes are limited, answering 429 with Retry-After; reads are not.
func TestRateLimits(t *testing.T) {
	rates := func(n int) *limit.Rates { return limit.NewRates(limit.Rate{N: n, Per: time.Hour}, nil) }
	env, ts := startGuarded(t, server.Guards{AnonymousWrites: rates(3), Logins: rates(2), Publishes: rates(4)})
	alice := env.Token(t, env.User(t, "alice", false), nil)
	bob := env.Token(t, env.User(t, "bob", false), nil)

	for i := range 3 {
		if resp := post(t, ts.URL+"/g/thing", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("anonymous write %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := post(t, ts.URL+"/g/thing", "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("4th anonymous write: %d, want 429", resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 1200 {
		t.Errorf("Retry-After = %q, want seconds until the next write (at most 20m)", resp.Header.Get("Retry-After"))
	}
	if resp := post(t, ts.URL+"/g/thing", alice); resp.StatusCode != http.StatusOK {
		t.Errorf("a write with credentials was limited as anonymous: %d", resp.StatusCode)
	}
	if resp, _ := http.Get(ts.URL + "/g/thing"); resp.StatusCode != http.StatusOK {
		t.Errorf("a read was limited: %d", resp.StatusCode)
	}

	// Sign-ins, per address, with or without credentials.
	for i := range 2 {
		if resp := post(t, ts.URL+"/g/login.start", alice); resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := post(t, ts.URL+"/g/login.start", alice); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("3rd sign-in: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Publishes, per credential.
	for i := range 4 {
		if resp := post(t, ts.URL+"/g/pkg.publish", alice); resp.StatusCode != http.StatusOK {
			t.Fatalf("publish %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := post(t, ts.URL+"/g/pkg.upload", alice); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("5th publish with one token: %d, want 429 with Retry-After", resp.StatusCode)
	}
	if resp := post(t, ts.URL+"/g/pkg.publish", bob); resp.StatusCode != http.StatusOK {
		t.Errorf("another credential's publish was limited: %d", resp.StatusCode)
	}
}

// TestClientAddress: X-Forwarded-For is believed only from trusted
// proxies, and then only up to the first address that is not one.
func TestClientAddress(t *testing.T) {
	get := func(ts *httptest.Server, xff string) string {
		req, _ := http.NewRequest("GET", ts.URL+"/g/addr", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		host, _, _ := net.SplitHostPort(strings.TrimPrefix(string(b), "from "))
		return host
	}
	_, direct := startGuarded(t, server.Guards{})
	if got := get(direct, "203.0.113.9"); got != "127.0.0.1" {
		t.Errorf("without trusted proxies, X-Forwarded-For was believed: client %s", got)
	}
	_, proxied := startGuarded(t, server.Guards{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}})
	for xff, want := range map[string]string{
		"203.0.113.9":                         "203.0.113.9",
		"198.51.100.1, 203.0.113.9, 10.1.2.3": "203.0.113.9", // the client cannot choose its address by prepending
		"garbage, 203.0.113.9":                "203.0.113.9",
		"203.0.113.9, garbage":                "127.0.0.1",
		"":                                    "127.0.0.1",
		"10.0.0.1":                            "10.0.0.1",
	} {
		if got := get(proxied, xff); got != want {
			t.Errorf("X-Forwarded-For %q from a trusted proxy: client %s, want %s", xff, got, want)
		}
	}
}

// TestTokenAddressRule: a token limited to address prefixes is checked
// against the client address the guards resolved, X-Forwarded-For from a
// trusted proxy included (and only then), on every route.
func TestTokenAddressRule(t *testing.T) {
	env, direct := startGuarded(t, server.Guards{})
	_, proxied := startGuardedWith(t, env, server.Guards{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	alice := env.User(t, "alice", false)
	cidrs, err := access.ParseCIDRs([]string{"203.0.113.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := env.Tokens.Create(context.Background(), alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: access.Actions, CIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	get := func(ts *httptest.Server, path, xff string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
			req.Header.Set("X-Forwarded-Proto", "https") // a TLS-terminating proxy
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name     string
		ts       *httptest.Server
		path     string
		xff      string
		wantCode int
	}{
		{"direct from 127.0.0.1", direct, "/g/addr", "", http.StatusForbidden},
		{"direct, forged X-Forwarded-For", direct, "/g/addr", "203.0.113.9", http.StatusForbidden},
		{"through the proxy, allowed client", proxied, "/g/addr", "203.0.113.9", http.StatusOK},
		{"through the proxy, allowed client, another route", proxied, "/g/pkg.publish", "203.0.113.9", http.StatusOK},
		{"through the proxy, other client", proxied, "/g/addr", "198.51.100.7", http.StatusForbidden},
		{"through the proxy, other client, another route", proxied, "/g/pkg.publish", "198.51.100.7", http.StatusForbidden},
	} {
		code, body := get(tc.ts, tc.path, tc.xff)
		if code != tc.wantCode {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.wantCode)
		}
		if code == http.StatusForbidden && (!strings.Contains(body, "only be used from 203.0.113.0/24") || strings.Contains(body, secret)) {
			t.Errorf("%s: refusal %q should name the rule and not the token", tc.name, body)
		}
	}
}

// startGuardedWith is startGuarded over an existing stack.
func startGuardedWith(t *testing.T, env *servertest.Env, g server.Guards) (*servertest.Env, *httptest.Server) {
	t.Helper()
	s := server.New(server.Options{Mounts: []server.Mount{{Prefix: "/g", Ecosystem: "g", Adapter: guarded{}}}, Tokens: env.Tokens, Guards: g})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return env, ts
}
