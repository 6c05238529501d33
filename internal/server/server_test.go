package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// fake is an adapter whose endpoints are chosen by path.
type fake struct{}

func (fake) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	switch r.URL.Path {
	case "/whoami":
		return "whoami", func(w http.ResponseWriter, r *http.Request) error {
			p := access.PrincipalFrom(r.Context())
			if p == nil {
				fmt.Fprint(w, "anonymous")
				return nil
			}
			fmt.Fprint(w, p.UserName)
			return nil
		}
	case "/publish":
		return "publish", func(w http.ResponseWriter, r *http.Request) error {
			return trove.Error(trove.ErrExists, "version 1.0.0 exists")
		}
	case "/boom":
		return "boom", func(w http.ResponseWriter, r *http.Request) error {
			return errors.New("database exploded: secret detail")
		}
	case "/panic":
		return "panic", func(w http.ResponseWriter, r *http.Request) error { panic("oops") }
	}
	return "", nil
}

func (fake) Routes() []adapter.Route { return nil }

func (fake) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func start(t *testing.T) (*servertest.Env, string) {
	env := servertest.New(t, servertest.Options{})
	ts := env.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/x", Ecosystem: "x", Adapter: fake{}}}
	})
	return env, ts.URL
}

func get(t *testing.T, url, auth string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestAuthentication(t *testing.T) {
	env, url := start(t)
	tok := env.Token(t, env.User(t, "alice", false), nil)
	// A mangled token differs from tok in its last character, whatever
	// that character is, so its checksum never matches.
	last := tok[len(tok)-1]
	mangled := tok[:len(tok)-1] + "x"
	if last == 'x' {
		mangled = tok[:len(tok)-1] + "y"
	}
	basic := func(user, pass string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header.Get("Authorization")
	}
	for _, tc := range []struct {
		name, auth string
		code       int
		body       string
	}{
		{"anonymous", "", 200, "anonymous"},
		{"bearer", "Bearer " + tok, 200, "alice"},
		{"basic __token__", basic("__token__", tok), 200, "alice"},
		{"basic any user with token", basic("alice", tok), 200, "alice"},
		{"basic password is not checked here", basic("alice", servertest.Password), 200, "anonymous"},
		{"unknown token", "Bearer " + access.NewToken(), 401, "unknown token"},
		{"mangled token", "Bearer " + mangled, 401, "checksum"},
		{"unknown scheme", "Digest abc", 401, "Authorization header is not understood"},
	} {
		code, body, _ := get(t, url+"/x/whoami", tc.auth)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, body, tc.code, tc.body)
		}
	}
}

// TestAuthorizationNotEchoed: an Authorization value the server does not
// understand is refused without repeating any of it, scheme included: a
// client may have put a secret there (a bare token, a password).
func TestAuthorizationNotEchoed(t *testing.T) {
	env, url := start(t)
	tok := env.Token(t, env.User(t, "alice", false), nil)
	for _, auth := range []string{
		tok,            // no scheme: the whole value is the secret
		"Token " + tok, // a scheme other registries use
		"Digest username=\"alice\", response=\"s3cr3tdigest\"",
		"S3cr3tScheme s3cr3tvalue",
		"Bearer not-a-token-s3cr3t",
		"Basic " + "%%%s3cr3t",
	} {
		code, body, hdr := get(t, url+"/x/whoami", auth)
		if code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
		for _, part := range strings.Fields(auth) {
			if len(part) < 4 || part == "Basic" || part == "Bearer" {
				continue // the schemes the server understands may be named
			}
			for _, v := range append([]string{body}, hdr.Values("Www-Authenticate")...) {
				if strings.Contains(v, part) || strings.Contains(v, tok[6:20]) || strings.Contains(v, "s3cr3t") {
					t.Errorf("Authorization %q: the answer repeats %q: %s", auth, part, v)
				}
			}
		}
	}
}

func TestErrorsAndRecovery(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	_, url := start(t)

	code, body, _ := get(t, url+"/x/publish", "")
	if code != http.StatusConflict || !strings.Contains(body, "version 1.0.0 exists") {
		t.Errorf("ErrExists: %d %q", code, body)
	}
	code, body, hdr := get(t, url+"/x/boom", "")
	if code != 500 || strings.Contains(body, "secret detail") || !strings.Contains(body, hdr.Get("X-Request-Id")) {
		t.Errorf("internal error: %d %q; want a generic 500 naming the request ID %s", code, body, hdr.Get("X-Request-Id"))
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Errorf("internal error detail not logged")
	}
	code, body, _ = get(t, url+"/x/panic", "")
	if code != 500 || !strings.Contains(body, "internal error") {
		t.Errorf("panic: %d %q", code, body)
	}
	code, body, _ = get(t, url+"/x/nothing", "")
	if code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("unknown route: %d %q, want the adapter's 404 format", code, body)
	}
	if code, _, _ := get(t, url+"/elsewhere", ""); code != 404 {
		t.Errorf("unmounted path: %d, want 404", code)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	_, url := start(t)
	if code, body, _ := get(t, url+"/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body, _ := get(t, url+"/readyz", ""); code != 200 || body != "ready\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
	get(t, url+"/x/publish", "")
	get(t, url+"/x/whoami", "")
	_, metrics, _ := get(t, url+"/metrics", "")
	for _, want := range []string{
		`trove_http_requests_total{code="409",route="x.publish"} 1`,
		`trove_http_requests_total{code="200",route="x.whoami"} 1`,
		`trove_http_request_duration_seconds_count{route="x.whoami"} 1`,
		`trove_publishes_total{ecosystem="x",outcome="refused"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestNotReady(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	s := server.New(server.Options{DB: env.DB, Blobs: env.Blobs})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 {
		t.Errorf("readyz before SetReady: %d, want 503", w.Code)
	}
	s.SetReady(true)
	env.DB.Close()
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "database") {
		t.Errorf("readyz with a closed database: %d %q", w.Code, w.Body)
	}
}

func TestAccessLogRedactsTokens(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	env := servertest.New(t, servertest.Options{})
	tok := env.Token(t, env.User(t, "alice", false), nil)
	s := server.New(server.Options{Mounts: []server.Mount{{Prefix: "/x", Ecosystem: "x", Adapter: fake{}}}, Tokens: env.Tokens, AccessLog: true})
	// From this machine: credentials over plain HTTP are refused from
	// anywhere else (TestCredentialsNeedTLS).
	r := httptest.NewRequest("DELETE", "/x/-/user/token/"+tok, nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("Authorization", "Bearer "+tok)
	s.ServeHTTP(httptest.NewRecorder(), r)
	r = httptest.NewRequest("GET", "/x/whoami", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("Authorization", "Bearer "+tok)
	s.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), tok[6:20]) {
		t.Errorf("the access log contains the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"user":"alice"`) || !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("access log lacks the user or the redaction:\n%s", logs.String())
	}
}

// parseSecurityTxt checks a security.txt against RFC 9116's rules (every
// line a comment or "Field: value", Contact at least once, Expires exactly
// once and in the future but within a year) and returns its fields.
func parseSecurityTxt(t *testing.T, body string, now time.Time) map[string][]string {
	t.Helper()
	fields := map[string][]string{}
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok || k == "" || strings.TrimSpace(v) == "" {
			t.Fatalf("security.txt line %q is not \"Field: value\"", l)
		}
		fields[k] = append(fields[k], v)
	}
	if len(fields["Contact"]) == 0 || len(fields["Expires"]) != 1 {
		t.Fatalf("security.txt needs Contact and one Expires:\n%s", body)
	}
	exp, err := time.Parse(time.RFC3339, fields["Expires"][0])
	if err != nil || !exp.After(now) || exp.After(now.AddDate(1, 0, 0)) {
		t.Errorf("security.txt Expires %q: %v; want a time within a year", fields["Expires"][0], err)
	}
	return fields
}

// TestSecurityTxt: every instance serves /.well-known/security.txt
// (RFC 9116): the operator's contact, policy and expiry from its
// configuration, or, unconfigured (allowed on loopback only), the
// machine's administrator.
func TestSecurityTxt(t *testing.T) {
	exp := time.Now().Add(180 * 24 * time.Hour).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		sec  server.SecurityTxt
		want map[string][]string
	}{
		{"configured", server.SecurityTxt{Contact: []string{"mailto:security@example.com", "https://example.com/report"}, Expires: exp,
			Policy: "https://example.com/policy", PreferredLanguages: "en, de", Canonical: "https://packages.example.com/.well-known/security.txt"},
			map[string][]string{"Contact": {"mailto:security@example.com", "https://example.com/report"}, "Expires": {exp.Format(time.RFC3339)},
				"Policy": {"https://example.com/policy"}, "Preferred-Languages": {"en, de"}, "Canonical": {"https://packages.example.com/.well-known/security.txt"}}},
		{"unconfigured", server.SecurityTxt{Canonical: "http://127.0.0.1:8080/.well-known/security.txt"},
			map[string][]string{"Contact": {server.DefaultSecurityContact}, "Canonical": {"http://127.0.0.1:8080/.well-known/security.txt"}}},
	} {
		ts := httptest.NewServer(server.New(server.Options{Security: tc.sec}))
		code, body, hdr := get(t, ts.URL+"/.well-known/security.txt", "")
		ts.Close()
		if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s: %d %s, want 200 text/plain; charset=utf-8", tc.name, code, hdr.Get("Content-Type"))
		}
		got := parseSecurityTxt(t, body, time.Now())
		for k, v := range tc.want {
			if !slices.Equal(got[k], v) {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got[k], v)
			}
		}
	}
}
