package server_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// secured is an adapter with one endpoint of each access kind; each
// counts the requests that reached it and reads their body.
type secured struct{ served *atomic.Int32 }

func (s secured) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	return name, func(w http.ResponseWriter, r *http.Request) error {
		s.served.Add(1)
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "served ", name)
		return nil
	}
}

func (secured) Routes() []adapter.Route {
	return []adapter.Route{
		adapter.NewRoute("open", http.MethodGet, "/open", adapter.Open),
		adapter.NewRoute("login", http.MethodPost, "/login", adapter.SignIn),
		adapter.NewRoute("publish", http.MethodPost, "/publish", adapter.Credential),
	}
}

func (secured) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}

const secret = "trove_notARealTokenButShapedLikeOne1234567890abcdefXYZ"

func newSecured(t *testing.T, httpsURL string) (*server.Server, *atomic.Int32) {
	t.Helper()
	env := servertest.New(t, servertest.Options{})
	served := new(atomic.Int32)
	s := server.New(server.Options{
		Mounts:    []server.Mount{{Prefix: "/s", Ecosystem: "s", Adapter: secured{served}}},
		Tokens:    env.Tokens,
		AccessLog: true,
		Guards:    server.Guards{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}},
		Transport: server.Transport{HSTS: 365 * 24 * time.Hour, HTTPSURL: httpsURL},
	})
	return s, served
}

// TestCredentialsNeedTLS: over plain HTTP from another machine, a request
// that carries credentials or is for an endpoint that makes or needs them
// is refused with 403 naming the https URL, before its endpoint runs;
// over TLS (direct, or a trusted proxy that says so) and from this
// machine it is served. Requests are given peer addresses directly.
func TestCredentialsNeedTLS(t *testing.T) {
	const https = "https://registry.example.test"
	tests := []struct {
		name    string
		peer    string
		tls     bool
		header  []string // key, value, ...
		method  string
		path    string
		refused bool
		hsts    bool
	}{
		{"open read, no credential, network", "192.0.2.7:4000", false, nil, "GET", "/s/open", false, false},
		{"open read with a token, network", "192.0.2.7:4000", false, []string{"Authorization", "Bearer " + secret}, "GET", "/s/open", true, false},
		{"open read with Basic, network", "192.0.2.7:4000", false, []string{"Authorization", "Basic X19tb2tlbl9fOnM="}, "GET", "/s/open", true, false},
		{"sign-in, network", "192.0.2.7:4000", false, nil, "POST", "/s/login", true, false},
		{"credential endpoint, network", "[2001:db8::1]:4000", false, nil, "POST", "/s/publish", true, false},
		{"credential endpoint with token, network", "192.0.2.7:4000", false, []string{"Authorization", "Bearer " + secret}, "POST", "/s/publish", true, false},
		{"unknown endpoint with token, network", "192.0.2.7:4000", false, []string{"Authorization", "Bearer " + secret}, "GET", "/s/other", true, false},
		{"sign-in over TLS, network", "192.0.2.7:4000", true, nil, "POST", "/s/login", false, true},
		{"sign-in, loopback", "127.0.0.1:4000", false, nil, "POST", "/s/login", false, false},
		{"sign-in, IPv6 loopback", "[::1]:4000", false, nil, "POST", "/s/login", false, false},
		{"sign-in, loopback IPv4-mapped", "[::ffff:127.0.0.1]:4000", false, nil, "POST", "/s/login", false, false},
		{"trusted proxy says https", "10.1.2.3:4000", false, []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "192.0.2.7"}, "POST", "/s/login", false, true},
		{"trusted proxy says http", "10.1.2.3:4000", false, []string{"X-Forwarded-Proto", "http", "X-Forwarded-For", "192.0.2.7"}, "POST", "/s/login", true, false},
		{"trusted proxy says nothing", "10.1.2.3:4000", false, []string{"X-Forwarded-For", "192.0.2.7"}, "POST", "/s/login", true, false},
		{"trusted proxy, one hop plain", "10.1.2.3:4000", false, []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-For", "192.0.2.7"}, "POST", "/s/login", true, false},
		{"trusted proxy, http from a loopback client", "10.1.2.3:4000", false, []string{"X-Forwarded-Proto", "http", "X-Forwarded-For", "127.0.0.1"}, "POST", "/s/login", false, false},
		{"untrusted peer says https", "192.0.2.7:4000", false, []string{"X-Forwarded-Proto", "https"}, "POST", "/s/login", true, false},
		{"loopback proxy says its client used http", "127.0.0.1:4000", false, []string{"X-Forwarded-Proto", "http", "X-Forwarded-For", "192.0.2.7"}, "POST", "/s/login", true, false},
		{"untrusted loopback peer says http", "[::1]:4000", false, []string{"X-Forwarded-Proto", "http"}, "POST", "/s/login", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			old := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			t.Cleanup(func() { slog.SetDefault(old) })
			s, served := newSecured(t, https)
			body := strings.NewReader(`{"name":"alice","password":"hunter2-` + secret + `"}`)
			r := httptest.NewRequest(tt.method, tt.path, body)
			r.RemoteAddr = tt.peer
			if tt.tls {
				r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if tt.refused {
				if w.Code != http.StatusForbidden || served.Load() != 0 {
					t.Fatalf("%s %s from %s: %d (endpoint ran %d times), want 403 before the endpoint runs", tt.method, tt.path, tt.peer, w.Code, served.Load())
				}
				if want := https + tt.path; !strings.Contains(w.Body.String(), want) {
					t.Errorf("refusal %q does not name %s", w.Body.String(), want)
				}
				if body.Len() == 0 {
					t.Errorf("the refused request's body was read")
				}
			} else if w.Code == http.StatusForbidden || served.Load() != 1 {
				t.Fatalf("%s %s from %s: %d %q, want it served", tt.method, tt.path, tt.peer, w.Code, w.Body.String())
			}
			if got := w.Header().Get("Strict-Transport-Security"); (got != "") != tt.hsts || tt.hsts && got != "max-age=31536000" {
				t.Errorf("Strict-Transport-Security = %q, want it (max-age=31536000) %v", got, tt.hsts)
			}
			for _, out := range []string{w.Body.String(), logs.String()} {
				if strings.Contains(out, secret[6:30]) || strings.Contains(out, "hunter2") || strings.Contains(out, "X19tb2tlbl9f") {
					t.Errorf("a credential leaked into the response or the log:\n%s", out)
				}
			}
		})
	}
}

// TestCredentialsNeedTLSWithoutHTTPS: a server without an https URL says
// that TLS is missing, rather than naming a URL that does not work.
func TestCredentialsNeedTLSWithoutHTTPS(t *testing.T) {
	s, _ := newSecured(t, "")
	r := httptest.NewRequest("POST", "/s/login", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "no https URL") || strings.Contains(w.Body.String(), "https://") {
		t.Errorf("refusal without an https URL: %d %q", w.Code, w.Body.String())
	}
}

// TestHSTSOverRealTLS: a response over a real TLS connection carries
// Strict-Transport-Security; with a max-age of 0 it carries none, and
// neither does one to a loopback host name (a browser would apply it to
// every local server).
func TestHSTSOverRealTLS(t *testing.T) {
	tests := []struct {
		age  time.Duration
		host string
		want string
	}{
		{time.Hour, "registry.example.test", "max-age=3600"},
		{0, "registry.example.test", ""},
		{time.Hour, "localhost:8443", ""},
		{time.Hour, "127.0.0.1", ""},
		{time.Hour, "[::1]:8443", ""},
	}
	for _, tt := range tests {
		s := server.New(server.Options{Transport: server.Transport{HSTS: tt.age}})
		ts := httptest.NewTLSServer(s)
		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		req.Host = tt.host
		resp, err := ts.Client().Do(req)
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
			t.Errorf("HSTS %s, Host %s: Strict-Transport-Security = %q, want %q", tt.age, tt.host, got, tt.want)
		}
	}
}
