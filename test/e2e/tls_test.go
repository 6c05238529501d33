//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTroveTLS runs `trove serve --tls self-signed` on 127.0.0.1 and
// returns it with the path of its local CA and a client that trusts it.
func startTroveTLS(t *testing.T, env ...string) (*Trove, string, *http.Client) {
	t.Helper()
	tr := &Trove{Data: t.TempDir(), log: &syncBuffer{}}
	addr := freeAddr(t, "127.0.0.1")
	tr.URL = "https://" + addr
	ca := filepath.Join(tr.Data, "tls", "ca.pem")
	// The CA is written at start: the client reads it at its first request.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &lazyRoots{path: ca}}
	tr.launch(t, client, []string{"--listen", addr, "--tls", "self-signed"}, env)
	return tr, ca, client
}

// lazyRoots is a transport trusting the CA in a file that may not exist
// yet when it is made.
type lazyRoots struct {
	path string
	rt   *http.Transport
}

func (l *lazyRoots) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.rt == nil {
		pem, err := os.ReadFile(l.path)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		l.rt = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	}
	return l.rt.RoundTrip(r)
}

// TestTLSSelfSignedClients: with `trove serve --tls self-signed`, the
// real clients work over https once told to trust the local CA, as the
// server's start message says: npm publish and install, twine upload and
// pip install, trove publish go and the go command with its credentials
// from a .netrc (sent only over https).
func TestTLSSelfSignedClients(t *testing.T) {
	tr, ca, client := startTroveTLS(t)
	wantOutput(t, "trove serve --tls self-signed", tr.Log(), "export SSL_CERT_FILE="+ca, "npm config set cafile "+ca,
		"NODE_EXTRA_CA_CERTS="+ca, "PIP_CERT="+ca, "twine upload --cert "+ca, "valid for localhost, 127.0.0.1, ::1 only")
	resp, err := client.Get(tr.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("https: %s over TLS %x, want HTTP/2 over TLS 1.2+", resp.Proto, resp.TLS.Version)
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get("http://" + strings.TrimPrefix(tr.URL, "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the https port was served")
		}
	}
	token := alice(t, tr)
	t.Run("npm", func(t *testing.T) { tlsNPM(t, tr, ca, token) })
	t.Run("pypi", func(t *testing.T) { tlsPyPI(t, tr, ca, token) })
	t.Run("go", func(t *testing.T) { tlsGo(t, tr, ca) })
}

func tlsNPM(t *testing.T, tr *Trove, ca, token string) {
	npmrc := filepath.Join(t.TempDir(), "npmrc")
	registry := tr.URL + "/npm/"
	os.WriteFile(npmrc, []byte("registry="+registry+"\n//"+strings.TrimPrefix(registry, "https://")+":_authToken="+token+"\ncafile="+ca+"\n"), 0o600)
	args := func(a ...string) []string {
		return append(a, "--userconfig", npmrc, "--cache", filepath.Join(t.TempDir(), "cache"), "--registry", registry)
	}
	lib := writePackage(t, libFiles("1.0.0"))
	wantOutput(t, "npm publish over https", must(t, lib, npmEnv, "npm", args("publish")...), "+ @acme/lib@1.0.0")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	must(t, proj, npmEnv, "npm", args("install", "@acme/lib")...)
	sameFiles(t, lib, filepath.Join(proj, "node_modules/@acme/lib"))
	// Without the CA, npm refuses the server.
	os.WriteFile(npmrc, []byte("registry="+registry+"\n"), 0o600)
	out := mustFail(t, proj, npmEnv, "npm", args("view", "@acme/lib", "--fetch-retries=0")...)
	if !strings.Contains(out, "certificate") {
		t.Errorf("npm without the CA:\n%s\nwant a certificate error", out)
	}
}

func tlsPyPI(t *testing.T, tr *Trove, ca, token string) {
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib over https"))
	// requests, which twine uses, lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE
	// override --cert: clear them, as docs/tls.md says.
	t.Setenv("REQUESTS_CA_BUNDLE", "")
	t.Setenv("CURL_CA_BUNDLE", "")
	out, err := twine(t, tr, token, []string{"--cert", ca}, wheel)
	if err != nil {
		t.Fatalf("twine upload --cert over https: %v\n%s", err, out)
	}
	target := t.TempDir()
	out, err = runCmd(t, "", append(pyEnv(t), "PIP_CERT="+ca), "", "pip", "install", "--index-url", tr.URL+"/pypi/simple/", "--target", target, pyLib)
	if err != nil {
		t.Fatalf("pip install over https with PIP_CERT: %v\n%s", err, out)
	}
	if out, err := pip(t, tr, "download", "--retries", "0", "--dest", t.TempDir(), pyLib); err == nil {
		t.Errorf("pip without the CA succeeded:\n%s", out)
	}
}

func tlsGo(t *testing.T, tr *Trove, ca string) {
	token := tr.Token(t, "alice", "go:example.test/*", "publish")
	liba, libb, app := goModules(t)
	trust := []string{"SSL_CERT_FILE=" + ca}
	pubEnv := append([]string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL}, trust...)
	must(t, "", pubEnv, troveBin, "publish", "go", liba, "--version", "v1.0.0")
	must(t, "", pubEnv, troveBin, "publish", "go", libb, "--version", "v1.0.0")
	gosumdb := strings.TrimSpace(must(t, "", append([]string{"TROVE_URL=" + tr.URL}, trust...), troveBin, "log", "gosumdb", "--data", tr.Data))
	if _, u, _ := strings.Cut(gosumdb, " "); !strings.HasPrefix(u, tr.URL+"/go/sumdb/") {
		t.Fatalf("trove log gosumdb = %q, want an https database URL under %s", gosumdb, tr.URL)
	}

	// The go command sends the .netrc's credentials for the proxy's host
	// (GOAUTH's default, netrc), which names the port unless it is 443:
	// a wrong token is refused...
	host := strings.TrimPrefix(tr.URL, "https://")
	netrc := func(password string) string {
		p := filepath.Join(t.TempDir(), "netrc")
		os.WriteFile(p, []byte("machine "+host+" login alice password "+password+"\n"), 0o600)
		return p
	}
	readToken := tr.Token(t, "alice", "go:example.test/*", "read")
	bad := "trove_" + strings.Repeat("A", len(readToken)-len("trove_"))
	env := append(goEnv(t, tr, gosumdb, t.TempDir()), append(trust, "NETRC="+netrc(bad))...)
	if out := mustFail(t, app, env, "go", "mod", "download", goLibB+"@v1.0.0"); !strings.Contains(out, "401") {
		t.Errorf("go mod download with a wrong token in .netrc:\n%s\nwant 401: the credentials reach the server", out)
	}
	// ...and the right one works, with modules checked against Trove's
	// checksum database over https.
	env = append(goEnv(t, tr, gosumdb, t.TempDir()), append(trust, "NETRC="+netrc(readToken))...)
	must(t, app, env, "go", "mod", "download", goLibB+"@v1.0.0")
	must(t, app, env, "go", "get", goLibB+"@v1.0.0")
	if out := must(t, app, env, "go", "run", "."); strings.TrimSpace(out) != "libb says: hello from liba" {
		t.Errorf("go run = %q", out)
	}
	sum, _ := os.ReadFile(filepath.Join(app, "go.sum"))
	wantOutput(t, "go.sum", string(sum), goLibA+" v1.0.0 h1:", goLibB+" v1.0.0 h1:")
}

// hostAddr returns an address of this machine that is not loopback, or
// fails: the refusal of credentials over plain HTTP is about clients on
// other machines, and only such an address shows it end to end
// (internal/server's TestCredentialsNeedTLS covers the decision with
// given peer addresses).
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Fatalf("this machine has no non-loopback IPv4 address (%v); the test needs one to connect from another address than loopback", addrs)
	return ""
}

// TestPlainHTTPCredentialsRefused: a plain HTTP server reached from
// another address than loopback refuses every request that carries a
// credential or signs in, on every adapter, with 403 naming the https
// URL, and never logs the credential; anonymous reads are served, and so
// are credentials through a trusted proxy that says https, and from
// loopback.
func TestPlainHTTPCredentialsRefused(t *testing.T) {
	ip := hostAddr(t)
	tr := &Trove{Data: t.TempDir(), log: &syncBuffer{}}
	_, port, _ := net.SplitHostPort(freeAddr(t, "0.0.0.0"))
	const public = "https://registry.example.test"
	tr.URL = "http://127.0.0.1:" + port
	tr.launch(t, http.DefaultClient, []string{"--listen", "0.0.0.0:" + port}, []string{"TROVE_BASE_URL=" + public,
		"TROVE_SECURITY_CONTACT=mailto:security@example.test", "TROVE_SECURITY_EXPIRES=" + time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339),
		"TROVE_CONNECTIONS_TRUSTED_PROXIES=127.0.0.1"})
	token := alice(t, tr)
	remote := "http://" + net.JoinHostPort(ip, port)
	bearer := "Bearer " + token
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+token))
	password := "Pa55word-never-logged"
	requests := []struct{ method, path, auth, body string }{
		{"GET", "/npm/-/whoami", bearer, ""},
		{"GET", "/npm/left-pad", bearer, ""}, // an open read, but with a token
		{"PUT", "/npm/-/user/org.couchdb.user:alice", "", `{"name":"alice","password":"` + password + `"}`},
		{"POST", "/npm/-/v1/login", "", "{}"},
		{"GET", "/npm/-/v1/login/abc", "", ""},
		{"POST", "/pypi/legacy/", basic, "x"},
		{"GET", "/pypi/simple/", basic, ""},
		{"POST", "/go/-/upload", bearer, "x"},
		{"GET", "/go/example.test/m/@v/list", basic, ""},
		{"GET", "/api/v1/whoami", bearer, ""},
	}
	do := func(base, method, path, auth, body string, header ...string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	for _, r := range requests {
		code, body := do(remote, r.method, r.path, r.auth, r.body)
		if code != http.StatusForbidden || !strings.Contains(body, public+r.path) {
			t.Errorf("%s %s from %s over plain HTTP: %d %q, want 403 naming %s", r.method, r.path, ip, code, body, public+r.path)
		}
		// Through the trusted proxy on loopback that says https, and from
		// loopback itself, the same request is not refused for its transport.
		for _, h := range [][]string{{"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7"}, nil} {
			if code, body := do(tr.URL, r.method, r.path, r.auth, r.body, h...); code == http.StatusForbidden && strings.Contains(body, "https") {
				t.Errorf("%s %s via loopback %v: refused: %q", r.method, r.path, h, body)
			}
		}
	}
	if code, _ := do(remote, "GET", "/npm/left-pad", "", ""); code != http.StatusNotFound {
		t.Errorf("anonymous read from %s: %d, want 404 (served)", ip, code)
	}
	// The real clients show the message.
	npmrc := filepath.Join(t.TempDir(), "npmrc")
	os.WriteFile(npmrc, []byte("//"+net.JoinHostPort(ip, port)+"/npm/:_authToken="+token+"\n"), 0o600)
	out := mustFail(t, "", npmEnv, "npm", "whoami", "--registry", remote+"/npm/", "--userconfig", npmrc, "--cache", t.TempDir(), "--fetch-retries=0")
	wantOutput(t, "npm whoami over plain HTTP", out, public+"/npm/-/whoami")
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "plain"))
	out, err := runCmd(t, "", pyEnv(t), "", "twine", "--no-color", "upload", "--non-interactive", "--disable-progress-bar",
		"--repository-url", remote+"/pypi/legacy/", "-u", "__token__", "-p", token, wheel)
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "https") {
		t.Errorf("twine upload over plain HTTP: %v\n%s\nwant 403 naming the https URL", err, out)
	}
	for _, secret := range []string{token, token[6:30], password} {
		if strings.Contains(tr.Log(), secret) {
			t.Errorf("the server log holds a credential (%.8s…)", secret)
		}
	}
}
