//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A pair is two Troves: Up, an upstream registry with a user alice who
// may publish anything (UpToken), and Down, configured with Up as the only
// upstream of one ecosystem, reached through Front, a reverse proxy the
// test can make fail or tamper with. Down has an administrator root
// (DownAdmin, a token with every action).
type pair struct {
	Up, Down  *Trove
	Front     *upFront
	UpToken   string
	DownAdmin string
}

// startUpstreamPair starts a pair for the ecosystem; extraTOML is added to
// Down's configuration.
func startUpstreamPair(t *testing.T, eco, extraTOML string) *pair {
	t.Helper()
	// Up's base URL is the front's, so that every URL Up writes in its
	// documents (npm tarballs, PyPI files) is fetched through the front too.
	p := &pair{Front: newUpFront(t)}
	p.Up = startTrove(t, "TROVE_BASE_URL="+p.Front.URL)
	p.Front.setTarget(t, p.Up.URL)
	p.Up.AddUser(t, "alice")
	p.UpToken = p.Up.Token(t, "alice", "*", "read,publish,yank")
	src := fmt.Sprintf("[[upstream.sources.%s]]\nname = \"up\"\nurl = %q\n", eco, p.Front.URL+"/"+eco)
	if eco == "go" {
		key := strings.TrimSpace(p.Up.trove(t, "", "log", "gosumdb", "--key-only"))
		src += fmt.Sprintf("sumdb = %q\n", key)
	}
	cfg := filepath.Join(t.TempDir(), "down.toml")
	if err := os.WriteFile(cfg, []byte("[upstream]\nttl = \"1s\"\ntimeout = \"5s\"\n"+src+extraTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Down = startTrove(t, "TROVE_CONFIG="+cfg)
	p.Down.trove(t, Password+"\n", "admin", "user", "add", "root", "--email", "root@example.test", "--password-stdin", "--admin", "--verified", "--config", cfg)
	p.DownAdmin = p.Down.Token(t, "root", "*", "read,publish,yank,tokens")
	return p
}

// An upFront is a reverse proxy before an upstream Trove that the test can
// take down (every request answered 502, as a dead upstream behind a load
// balancer) or make tamper with artifacts (one byte of every response
// whose path contains a string is changed).
type upFront struct {
	*httptest.Server
	down   atomic.Bool
	tamper atomic.Value // string: path substring; "" for none
	hits   atomic.Int64
	proxy  atomic.Pointer[httputil.ReverseProxy]
}

// newUpFront starts a front; it answers 502 until setTarget.
func newUpFront(t *testing.T) *upFront {
	t.Helper()
	f := &upFront{}
	f.tamper.Store("")
	f.down.Store(true)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.down.Load() {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		f.proxy.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// setTarget makes the front forward to target and brings it up.
func (f *upFront) setTarget(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		sub := f.tamper.Load().(string)
		if sub == "" || !strings.Contains(resp.Request.URL.Path, sub) || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if len(b) > 0 {
			b[len(b)/2] ^= 0x20
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		resp.Header.Del("Content-Encoding")
		return nil
	}
	f.proxy.Store(rp)
	f.down.Store(false)
}

// offline stops Down and starts it again on its data with
// upstream.offline set, with the upstream down, and returns it.
func (p *pair) offline(t *testing.T) *Trove {
	t.Helper()
	cfg := envValue(p.Down.cmd.Env, "TROVE_CONFIG")
	if err := p.Down.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.Front.SetDown(true)
	return startTroveAt(t, p.Down.Data, "TROVE_CONFIG="+cfg, "TROVE_UPSTREAM_OFFLINE=true")
}

// SetDown takes the upstream down (true) or brings it back.
func (f *upFront) SetDown(down bool) { f.down.Store(down) }

// Tamper changes a byte of every response whose path contains sub; ""
// stops it.
func (f *upFront) Tamper(sub string) { f.tamper.Store(sub) }

// TestUpstreamExceptions: administrators make a name local or upstream
// through the API and the CLI; the decision is public and logged, and
// others are refused.
func TestUpstreamExceptions(t *testing.T) {
	p := startUpstreamPair(t, "npm", "")
	env := []string{"TROVE_URL=" + p.Down.URL, "TROVE_TOKEN=" + p.DownAdmin}
	before := treeSize(t, p.Down)
	out := must(t, "", env, troveBin, "upstream", "allow", "npm", "@acme/fork", "--as", "local", "--reason", "our patched copy")
	if !strings.Contains(out, "npm @acme/fork is now local") {
		t.Fatalf("trove upstream allow said:\n%s", out)
	}
	out = must(t, "", []string{"TROVE_URL=" + p.Down.URL}, troveBin, "upstream", "list")
	if !strings.Contains(out, "@acme/fork") || !strings.Contains(out, "local") || !strings.Contains(out, "our patched copy") || !strings.Contains(out, "root") {
		t.Fatalf("trove upstream list (anonymous) said:\n%s", out)
	}
	p.Down.AddUser(t, "bob")
	bob := p.Down.Token(t, "bob", "*", "read,publish,yank")
	out = mustFail(t, "", []string{"TROVE_URL=" + p.Down.URL, "TROVE_TOKEN=" + bob}, troveBin, "upstream", "allow", "npm", "x", "--as", "local")
	if !strings.Contains(out, "only administrators") {
		t.Fatalf("a user's exception was not refused clearly:\n%s", out)
	}
	must(t, "", env, troveBin, "upstream", "remove", "npm", "@acme/fork", "--reason", "merged upstream")
	out = must(t, "", env, troveBin, "upstream", "list")
	if strings.Contains(out, "@acme/fork") {
		t.Fatalf("a removed exception is still listed:\n%s", out)
	}
	if after := treeSize(t, p.Down); after != before+2 {
		t.Fatalf("the log grew from %d to %d records: want one record per decision, and none for the refused one", before, after)
	}
}

// treeSize returns the size of the server's latest signed checkpoint.
func treeSize(t *testing.T, tr *Trove) int {
	t.Helper()
	resp, err := http.Get(tr.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	var n int
	if len(lines) < 2 {
		t.Fatalf("checkpoint %q", b)
	}
	if _, err := fmt.Sscan(lines[1], &n); err != nil {
		t.Fatalf("checkpoint %q: %v", b, err)
	}
	return n
}

// TestUpstreamDetect: trove upstream detect reads the registries the real
// npm, pip and go use on the machine, and writes a configuration that
// Trove accepts.
func TestUpstreamDetect(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "trove.toml")
	env := []string{"NPM_CONFIG_REGISTRY=https://npm.example.test/", "PIP_INDEX_URL=https://pypi.example.test/simple/",
		"GOPROXY=https://proxy.example.test,direct", "GOSUMDB=sum.example.test+581605ac+ARhtrYRwyaql1AUSa55ZwOoLzq8AgN6yTX3appzy56Fh"}
	out := must(t, "", env, troveBin, "upstream", "detect", "--write", cfg)
	if !strings.Contains(out, "appended 3 upstreams") {
		t.Fatalf("trove upstream detect said:\n%s", out)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`url = "https://npm.example.test"`, `url = "https://pypi.example.test"`,
		`url = "https://proxy.example.test"`, `sumdb = "sum.example.test+581605ac+ARhtrYRwyaql1AUSa55ZwOoLzq8AgN6yTX3appzy56Fh"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the written configuration lacks %s:\n%s", want, b)
		}
	}
	must(t, "", nil, troveBin, "config", "check", "--config", cfg, "--data", t.TempDir())
}
