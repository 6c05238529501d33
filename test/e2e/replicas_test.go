//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/archive/archivetest"
)

// The replica tests run two `trove serve` processes on one PostgreSQL
// database (pgtest) and one S3 bucket (versitygw), behind a small
// round-robin front, as an operator would behind a load balancer.

// A front is a round-robin reverse proxy over the replicas. A replica it
// cannot reach is taken out of the rotation (a load balancer's health
// check); the request that found it down is answered 502, never retried
// (a publish must not be sent twice).
type front struct {
	srv      *httptest.Server
	mu       sync.Mutex
	backends []*url.URL
	down     []bool
	next     int
	// lastWrite is the backend of the last request other than GET/HEAD.
	lastWrite atomic.Int32
}

const backendHeader = "X-Test-Front-Backend"

func newFront(t testing.TB) *front {
	f := &front{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i, u := f.pick()
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // links are rendered for the front's address (base_url)
			pr.Out.Header.Set(backendHeader, strconv.Itoa(i))
			if pr.In.Method != http.MethodGet && pr.In.Method != http.MethodHead {
				f.lastWrite.Store(int32(i))
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if i, err := strconv.Atoi(r.Header.Get(backendHeader)); err == nil {
				f.mu.Lock()
				f.down[i] = true
				f.mu.Unlock()
			}
			http.Error(w, "replica unreachable: "+err.Error(), http.StatusBadGateway)
		},
	}
	f.srv = httptest.NewServer(rp)
	t.Cleanup(f.srv.Close)
	return f
}

// set replaces backend i (a restarted replica) or adds it.
func (f *front) set(i int, rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.backends) <= i {
		f.backends = append(f.backends, nil)
		f.down = append(f.down, true)
	}
	f.backends[i], f.down[i] = u, false
}

func (f *front) pick() (int, *url.URL) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range f.backends {
		i := f.next % len(f.backends)
		f.next++
		if !f.down[i] {
			return i, f.backends[i]
		}
	}
	return 0, f.backends[0] // all down: the error handler answers
}

// replicaEnv returns the environment both replicas share: one
// PostgreSQL database, one bucket, the front's address as base_url.
func replicaEnv(t testing.TB, f *front) []string {
	onPostgres(t)
	_, _, env := s3Env(t, false)
	return append(env, "TROVE_BASE_URL="+f.srv.URL,
		// The load test publishes faster than the default per-token limit.
		"TROVE_RATES_PUBLISHES=100000/1m")
}

// startReplicas starts replica A (which makes the log's key), checks
// that B is refused without that key, then starts B with it
// (transparency.key_dir), and puts both behind the front.
func startReplicas(t testing.TB, f *front, env []string) (*Trove, *Trove) {
	a := startTroveAt(t, t.TempDir(), env...)
	f.set(0, a.URL)
	out := mustFail(t, "", env, troveBin, "serve", "--data", t.TempDir(), "--listen", freeAddr(t, "127.0.0.1"))
	wantOutput(t, "a replica without the log's key", out, "no transparency log key in", "already holds this registry's log",
		"copy signer.key", "transparency.key_dir")
	b := startTroveAt(t, t.TempDir(), append(env, "TROVE_TRANSPARENCY_KEY_DIR="+filepath.Join(a.Data, "log"),
		"TROVE_ACCOUNTS_FACTOR_KEY_FILE="+factorKey(a.Data))...) // replicas share the key sealing TOTP secrets
	f.set(1, b.URL)
	return a, b
}

// TestReplicasPublishAndInstall: a publish through the front (landing on
// one replica) is seen by the other within a second, with no stale read
// after; npm installs it from the other at once; a token revoked through
// one replica is refused by the other within a second.
func TestReplicasPublishAndInstall(t *testing.T) {
	f := newFront(t)
	env := replicaEnv(t, f)
	a, b := startReplicas(t, f, env)
	replicas := []*Trove{a, b}
	a.AddUser(t, "alice")
	token := a.Token(t, "alice", "*", "read,publish,yank")
	viaFront := newNPM(t, &Trove{URL: f.srv.URL}, token)

	// 1.0.0, and every replica's page cache holds the packument.
	viaFront.must(writePackage(t, libFiles("1.0.0")), "publish")
	for _, r := range replicas {
		if v := latestOn(t, r, "@acme/lib"); v != "1.0.0" {
			t.Fatalf("%s serves latest %q, want 1.0.0", r.URL, v)
		}
	}
	viaFront.must(writePackage(t, libFiles("1.1.0")), "publish")
	other := replicas[1-f.lastWrite.Load()]
	published := time.Now()
	for latestOn(t, other, "@acme/lib") != "1.1.0" {
		if time.Since(published) > time.Second {
			t.Fatalf("the other replica still serves the old packument %v after the publish", time.Since(published))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the other replica served 1.1.0 %v after the publish returned", time.Since(published).Round(time.Millisecond))
	for range 20 {
		if v := latestOn(t, other, "@acme/lib"); v != "1.1.0" {
			t.Fatalf("stale read after the change was seen: latest %q", v)
		}
	}
	fromOther := newNPM(t, other, token)
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	fromOther.must(proj, "install", "@acme/lib@1.1.0")
	if got := readFile(t, filepath.Join(proj, "node_modules/@acme/lib/package.json")); !strings.Contains(got, `"version":"1.1.0"`) {
		t.Fatalf("installed package.json: %s", got)
	}

	checkRevocationReaches(t, a, b)
}

// checkRevocationReaches revokes a token through a while b holds it
// cached as valid, and checks that b refuses it within access.CacheTTL
// (1s: the entry was cached before the revocation).
func checkRevocationReaches(t *testing.T, a, b *Trove) {
	t.Helper()
	doomed := a.Token(t, "alice", "*", "read")
	for _, r := range []*Trove{a, b} {
		if code := whoami(t, r, doomed); code != http.StatusOK {
			t.Fatalf("whoami on %s = %d before the revocation", r.URL, code)
		}
	}
	revokeVia(t, a, a.Token(t, "alice", "*", "tokens"))
	revoked := time.Now()
	for whoami(t, b, doomed) != http.StatusUnauthorized {
		if time.Since(revoked) > 1100*time.Millisecond {
			t.Fatalf("replica B still accepts a token revoked on A %v later", time.Since(revoked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("replica B refused the token %v after A revoked it", time.Since(revoked).Round(time.Millisecond))
}

// latestOn returns the latest dist-tag of an npm package served by tr.
func latestOn(t *testing.T, tr *Trove, name string) string {
	t.Helper()
	resp, err := http.Get(tr.URL + "/npm/" + strings.Replace(name, "/", "%2f", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Tags map[string]string `json:"dist-tags"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		t.Fatalf("GET %s on %s: %s", name, tr.URL, resp.Status)
	}
	return doc.Tags["latest"]
}

// revokeVia revokes, through replica tr's API with the manager token,
// the token of the user whose only action is read.
func revokeVia(t *testing.T, tr *Trove, manager string) {
	t.Helper()
	call := func(method, path string) []byte {
		req, _ := http.NewRequest(method, tr.URL+"/api/v1/tokens"+path, nil)
		req.Header.Set("Authorization", "Bearer "+manager)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /api/v1/tokens%s: %s %s", method, path, resp.Status, body)
		}
		return body
	}
	var list struct {
		Tokens []struct {
			ID      string   `json:"id"`
			Actions []string `json:"actions"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(call("GET", ""), &list); err != nil {
		t.Fatal(err)
	}
	for _, tok := range list.Tokens {
		if len(tok.Actions) == 1 && tok.Actions[0] == "read" {
			call("DELETE", "/"+tok.ID)
			return
		}
	}
	t.Fatalf("no read-only token in %+v", list.Tokens)
}

// TestReplicasSurviveAKill: many publishers publish through the front;
// replica A is killed (SIGKILL) in the middle. B keeps serving, every
// acknowledged publish is there, the log is contiguous and verifies from
// its start, the blobs are all there, and A restarted on its data
// directory rejoins.
func TestReplicasSurviveAKill(t *testing.T) {
	f := newFront(t)
	env := replicaEnv(t, f)
	a, b := startReplicas(t, f, env)
	a.AddUser(t, "alice")
	token := a.Token(t, "alice", "*", "read,publish")

	const publishers = 8
	load := startPublishers(t, f.srv.URL, token, publishers)
	time.Sleep(1500 * time.Millisecond)
	before := load.acked.Load()
	a.Kill(t)
	killed := time.Now()
	time.Sleep(2 * time.Second)
	load.stop()
	after := load.acked.Load() - before
	t.Logf("acknowledged %d publishes before the kill, %d after (in %v); %d refused as taken, %d failed and retried",
		before, after, time.Since(killed).Round(time.Millisecond), load.refused.Load(), load.failed.Load())
	if after == 0 {
		t.Fatalf("no publish was acknowledged after replica A was killed:\n%s", b.Log())
	}
	versions := load.checkServed(t, b)

	// The log verifies from its start: every record, one publish record
	// per version served, and one owner record per package.
	key := strings.TrimSpace(must(t, "", nil, troveBin, "log", "key", "--data", a.Data))
	audit := func(tr *Trove) {
		out := must(t, "", nil, troveBin, "verify", "--url", tr.URL, "--key", key, "--state", t.TempDir(), "--audit")
		wantOutput(t, "trove verify --audit", out, "matches the signed checkpoint",
			fmt.Sprintf("publish    %d\n", versions), fmt.Sprintf("owner      %d\n", publishers))
	}
	audit(b)
	wantOutput(t, "trove fsck", must(t, "", env, troveBin, "fsck", "--data", b.Data), "0 damaged or missing")

	// A restarted on its data directory rejoins; a publish through it is
	// served by both and the log still verifies.
	a2 := startTroveAt(t, a.Data, env...)
	f.set(0, a2.URL)
	if code := npmPublish(t, a2.URL, token, "load-0", "2.0.0"); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("publish on the restarted replica: %d\n%s", code, a2.Log())
	}
	versions++
	deadline := time.Now().Add(time.Second)
	for !versionsOn(t, b, "load-0")["2.0.0"] {
		if time.Now().After(deadline) {
			t.Fatal("B does not serve the publish made on the restarted A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	audit(a2)
}

// A publishers is n goroutines publishing new versions of one package
// each (load-<i>) through base until stopped.
type publishers struct {
	n               int
	acked           atomic.Int32
	refused, failed atomic.Int32
	ackedVersions   sync.Map // "name@version" → true
	stopping        chan struct{}
	wg              sync.WaitGroup
}

func startPublishers(t testing.TB, base, token string, n int) *publishers {
	p := &publishers{n: n, stopping: make(chan struct{})}
	for i := range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(t, base, token, fmt.Sprintf("load-%d", i))
		}()
	}
	return p
}

// run publishes name@1.0.0, 1.0.1, … until stopped. A version that got
// no answer, or an error other than 409, is tried again; a 409 means an
// earlier try reached the killed replica (committed, or left
// quarantined) and the next version is tried.
func (p *publishers) run(t testing.TB, base, token, name string) {
	for v := 0; ; v++ {
		select {
		case <-p.stopping:
			return
		default:
		}
		version := fmt.Sprintf("1.0.%d", v)
		switch code := npmPublish(t, base, token, name, version); code {
		case http.StatusOK, http.StatusCreated:
			p.ackedVersions.Store(name+"@"+version, true)
			p.acked.Add(1)
		case http.StatusConflict:
			p.refused.Add(1)
		default:
			p.failed.Add(1)
			v--
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (p *publishers) stop() {
	close(p.stopping)
	p.wg.Wait()
}

// checkServed checks that tr serves every acknowledged publish, and
// returns how many versions it serves in all.
func (p *publishers) checkServed(t *testing.T, tr *Trove) int {
	t.Helper()
	versions := 0
	for i := range p.n {
		name := fmt.Sprintf("load-%d", i)
		served := versionsOn(t, tr, name)
		versions += len(served)
		p.ackedVersions.Range(func(k, _ any) bool {
			if n, v, _ := strings.Cut(k.(string), "@"); n == name && !served[v] {
				t.Errorf("acknowledged publish %s is not served by %s", k, tr.URL)
			}
			return true
		})
	}
	return versions
}

// versionsOn returns the versions of an npm package that tr serves.
func versionsOn(t *testing.T, tr *Trove, name string) map[string]bool {
	t.Helper()
	resp, err := http.Get(tr.URL + "/npm/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		t.Fatalf("GET %s on %s: %s", name, tr.URL, resp.Status)
	}
	out := map[string]bool{}
	for v := range doc.Versions {
		out[v] = true
	}
	return out
}

// npmPublish publishes name@version as npm publish does, and returns the
// status (0 if no answer came).
func npmPublish(t testing.TB, base, token, name, version string) int {
	pkg := fmt.Sprintf(`{"name":%q,"version":%q,"description":"load test","license":"MIT"}`, name, version)
	tgz := archivetest.TarGz(t, archivetest.TarEntry{Name: "package/package.json", Body: pkg},
		archivetest.TarEntry{Name: "package/index.js", Body: "module.exports = " + strconv.Quote(version) + "\n"})
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	var manifest map[string]any
	json.Unmarshal([]byte(pkg), &manifest)
	manifest["_id"] = name + "@" + version
	manifest["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		"shasum": hex.EncodeToString(s1[:]), "tarball": base + "/npm/" + name + "/-/" + name + "-" + version + ".tgz"}
	body, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	req, _ := http.NewRequest("PUT", base+"/npm/"+name, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
