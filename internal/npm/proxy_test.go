package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// A front stands between a Trove "down" and its upstream, another Trove
// stack ("up") served in process: it rewrites up's URLs to its own, counts
// requests, and can corrupt tarballs or stop answering.
type front struct {
	*httptest.Server
	up       *env
	tarballs atomic.Int64 // tarball requests that reached up
	mu       sync.Mutex
	flip     bool // corrupt every tarball
	down     bool // answer nothing but 503
	// docs, when set, rewrites every document up serves.
	docs func([]byte) []byte
}

func newFront(t testing.TB, up *env) *front {
	f := &front{up: up}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *front) set(flip, down bool) {
	f.mu.Lock()
	f.flip, f.down = flip, down
	f.mu.Unlock()
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	flip, down, docs := f.flip, f.down, f.docs
	f.mu.Unlock()
	if down {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
		return
	}
	r.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	f.up.serverHandler.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if strings.HasSuffix(r.URL.Path, ".tgz") {
		f.tarballs.Add(1)
		if flip && len(body) > 20 {
			body = bytes.Clone(body)
			body[len(body)-10] ^= 0xff
		}
	} else {
		body = bytes.ReplaceAll(body, []byte(f.up.URL), []byte(f.URL))
		if docs != nil {
			body = docs(body)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// allowAll is a policy that lets every version through except those it lists.
type denyList map[string]string // version → rule

func (d denyList) Decide(_ context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	out := make([]upstream.Decision, len(vs))
	for i, v := range vs {
		rule, no := d[v.Version]
		out[i] = upstream.Decision{Allowed: !no, Rule: rule, Why: "held by the test policy; ask the test's curator"}
	}
	return out, nil
}

// proxyEnvs returns an upstream stack, the front before it, and a Trove
// whose npm upstream is the front, with policy as its curation.
func proxyEnvs(t testing.TB, policy upstream.Policy) (up *env, f *front, down *env) {
	t.Helper()
	return proxyEnvsWith(t, func(*env) upstream.Policy { return policy })
}

// proxyEnvsWith is proxyEnvs with a policy made on down's stack.
func proxyEnvsWith(t testing.TB, policy func(down *env) upstream.Policy) (up *env, f *front, down *env) {
	t.Helper()
	up = newEnv(t, nil)
	f = newFront(t, up)
	down = &env{t: t, ahead: new(atomic.Int64)}
	now := func() time.Time { return time.Now().Add(time.Duration(down.ahead.Load())) }
	down.Env = servertest.New(t, servertest.Options{Rules: []registry.Rules{Rules{}}})
	ts := down.Start(t, func(base string) []server.Mount {
		down.opts = Options{Registry: down.Registry, Pages: down.Pages, Tokens: down.Tokens, Users: down.Users, Logins: down.Logins,
			BaseURL: base + "/npm", MaxPublishBytes: 4 << 20,
			Upstream: upstream.New(upstream.Options{Ecosystem: trove.NPM, Store: down.DB, Policy: policy(down), Now: now,
				Sources: []upstream.Source{{Name: "up", URL: f.URL + "/npm"}}})}
		down.h = New(down.opts)
		down.h.proxy.now = now
		return []server.Mount{{Prefix: "/npm", Ecosystem: "npm", Adapter: down.h}}
	})
	down.reg = down.URL + "/npm"
	down.serverHandler = ts.Config.Handler
	down.Registry.SetUpstreams(upstream.Names{trove.NPM: down.h.HasUpstream})
	return up, f, down
}

// corgi fetches an abbreviated packument.
func (e *env) corgi(name string) response {
	e.t.Helper()
	return do(e.t, "GET", e.reg+"/"+escapeName(trove.Name(name)), "", nil, "Accept", corgiAccept)
}

// depJSON is a package.json depending on dep.
func depJSON(name, version, dep string) string {
	return pkgJSONOf(name, version, map[string]any{"dependencies": map[string]string{dep: "^1.0.0"}})
}

func TestProxyPackumentAndTarball(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	tok := up.userToken("alice")
	up.publish(tok, pkgJSONOf("dep", "1.0.0", nil), "index.js", "1")
	tgz := up.publish(tok, depJSON("left", "1.0.0", "dep"), "index.js", "2")
	up.publish(tok, depJSON("left", "1.1.0", "dep"), "index.js", "3")

	r := down.corgi("left").want(t, http.StatusOK)
	if got := r.header.Get(UpstreamHeader); got != "fresh" {
		t.Errorf("%s = %q, want fresh", UpstreamHeader, got)
	}
	doc := r.json(t)
	if got := get(doc, "dist-tags", "latest"); got != "1.1.0" {
		t.Errorf("latest = %v, want 1.1.0", got)
	}
	tarball, _ := get(doc, "versions", "1.0.0", "dist", "tarball").(string)
	if tarball != down.reg+"/left/-/left-1.0.0.tgz" {
		t.Fatalf("tarball URL = %q, want one at Trove", tarball)
	}
	if down.releases("left") != nil {
		t.Fatalf("a packument request imported something")
	}
	got := do(t, "GET", tarball, "", nil).want(t, http.StatusOK)
	if !bytes.Equal(got.body, tgz) {
		t.Fatalf("the proxied tarball differs from the upstream's")
	}
	rels := down.releases("left")
	if len(rels) != 1 || rels[0].Source != "up" || rels[0].Version != "1.0.0" {
		t.Fatalf("releases after the download: %+v, want 1.0.0 from up", rels)
	}
	// Later downloads are served from Trove's copy.
	do(t, "GET", tarball, "", nil).want(t, http.StatusOK)
	if n := f.tarballs.Load(); n != 1 {
		t.Errorf("the upstream served %d tarball requests, want 1", n)
	}
	// The import is in the transparency log as a proxy record from up.
	if recs := down.logRecords(t); !strings.Contains(recs, "proxy") || !strings.Contains(recs, "source up "+f.URL) {
		t.Errorf("no proxy record naming the upstream in the log:\n%s", recs)
	}
	// The dependency it imported is known to the registry.
	full := down.packument("left")
	if get(full, "versions", "1.0.0", "dependencies", "dep") != "^1.0.0" || get(full, "time", "1.0.0") == nil {
		t.Errorf("full packument lacks dependencies or times: %v", full)
	}
}

// logRecords returns the text of every transparency log record.
func (e *env) logRecords(t *testing.T) string {
	t.Helper()
	n, err := e.DB.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.DB.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.Join(recs, []byte("\n")))
}

func TestProxyLocalNameWins(t *testing.T) {
	up, _, down := proxyEnvs(t, nil)
	upTok, downTok := up.userToken("alice"), down.userToken("bob")
	// mine is local here before the upstream has it; then the upstream
	// gets a higher version of it: that version is never served.
	down.publish(downTok, pkgJSONOf("mine", "1.0.0", nil), "index.js", "local")
	up.publish(upTok, pkgJSONOf("mine", "9.0.0", nil), "index.js", "confusion")
	r := down.corgi("mine").want(t, http.StatusOK)
	if v := get(r.json(t), "versions", "9.0.0"); v != nil || r.header.Get(UpstreamHeader) != "" {
		t.Errorf("the local name mine shows an upstream version: %s", r.body)
	}
	do(t, "GET", down.reg+"/mine/-/mine-9.0.0.tgz", "", nil).want(t, http.StatusNotFound)
	if rels := down.releases("mine"); len(rels) != 1 || rels[0].Source != "" {
		t.Errorf("releases of mine: %+v, want only the local 1.0.0", rels)
	}
	// A scope with a local package is local: none of its names come from upstream.
	down.publish(downTok, pkgJSONOf("@bob/lib", "1.0.0", nil), "index.js", "x")
	up.publish(upTok, pkgJSONOf("@bob/evil", "1.0.0", nil), "index.js", "x")
	down.corgi("@bob/evil").want(t, http.StatusNotFound)
	do(t, "GET", down.reg+"/@bob/evil/-/evil-1.0.0.tgz", "", nil).want(t, http.StatusNotFound)
}

func TestProxyScopeClaimedLater(t *testing.T) {
	up, _, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), pkgJSONOf("@new/x", "1.0.0", nil), "index.js", "x")
	down.corgi("@new/x").want(t, http.StatusOK)
	// A local package in @new claims the scope at once, although the
	// proxy remembered @new/x as an upstream name.
	down.publish(down.userToken("bob"), pkgJSONOf("@new/y", "1.0.0", nil), "index.js", "y")
	down.corgi("@new/x").want(t, http.StatusNotFound)
}

func TestProxyPublishOfUpstreamName(t *testing.T) {
	up, _, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), pkgJSONOf("taken", "1.0.0", nil), "index.js", "x")
	tok := down.userToken("bob")
	pj := pkgJSONOf("taken", "2.0.0", nil)
	doc := publishDoc(t, down.reg, pj, pkgTgz(t, pj, "index.js", "fork"))
	r := do(t, "PUT", down.reg+"/taken", tok, doc).want(t, http.StatusConflict)
	if !strings.Contains(r.errorText(), "trove upstream allow npm taken --as local") {
		t.Errorf("refusal %q does not say how to allow it", r.errorText())
	}
	if err := down.Registry.Except(ctx, "admin", trove.NPM, "taken", meta.ExceptLocal, "our fork"); err != nil {
		t.Fatal(err)
	}
	do(t, "PUT", down.reg+"/taken", tok, doc).want(t, http.StatusOK)
	if v := get(down.corgi("taken").want(t, http.StatusOK).json(t), "versions", "1.0.0"); v != nil {
		t.Errorf("the local fork shows the upstream's 1.0.0")
	}
}

func TestProxyTamperedTarball(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), pkgJSONOf("left", "1.0.0", nil), "index.js", strings.Repeat("x", 200))
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	f.set(true, false)
	r := do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusBadGateway)
	if !strings.Contains(r.errorText(), "does not match the upstream's dist.integrity") || !strings.Contains(r.errorText(), "nothing was stored") {
		t.Errorf("error %q does not say the tarball did not match", r.errorText())
	}
	if down.releases("left") != nil {
		t.Errorf("a tampered tarball was imported")
	}
	if !strings.Contains(logs.String(), "tarball refused") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	// The next request, with the upstream honest again, imports it.
	f.set(false, false)
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
}

func TestProxyWrongPackageInTarball(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	tok := up.userToken("alice")
	up.publish(tok, pkgJSONOf("left", "1.0.0", nil), "index.js", "x")
	up.publish(tok, pkgJSONOf("right", "1.0.0", nil), "index.js", "y")
	// The upstream's document of left points at right's tarball, with
	// right's digests: the digests match, the package inside does not.
	right := up.packument("right")
	f.docs = func(b []byte) []byte {
		var d map[string]any
		if json.Unmarshal(b, &d) != nil || d["name"] != "left" {
			return b
		}
		dist := get(d, "versions", "1.0.0", "dist").(map[string]any)
		for k, v := range get(right, "versions", "1.0.0", "dist").(map[string]any) {
			dist[k] = v
		}
		dist["tarball"] = strings.ReplaceAll(dist["tarball"].(string), up.URL, f.URL)
		out, _ := json.Marshal(d)
		return out
	}
	r := do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusBadGateway)
	if !strings.Contains(r.errorText(), `names package "right"`) {
		t.Errorf("error %q does not name the package found", r.errorText())
	}
	if down.releases("left") != nil {
		t.Errorf("a tarball of another package was imported")
	}
}

func TestProxyPolicy(t *testing.T) {
	up, f, down := proxyEnvs(t, denyList{"1.1.0": "cooldown"})
	tok := up.userToken("alice")
	up.publish(tok, pkgJSONOf("left", "1.0.0", nil), "index.js", "1")
	up.publish(tok, pkgJSONOf("left", "1.1.0", nil), "index.js", "2")
	doc := down.corgi("left").want(t, http.StatusOK).json(t)
	if get(doc, "versions", "1.1.0") != nil || get(doc, "dist-tags", "latest") != "1.0.0" {
		t.Errorf("blocked 1.1.0 is served, or latest did not move to 1.0.0: %v", doc)
	}
	r := do(t, "GET", down.reg+"/left/-/left-1.1.0.tgz", "", nil).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "rule cooldown") || !strings.Contains(r.errorText(), "ask the test's curator") {
		t.Errorf("error %q does not name the rule and whom to ask", r.errorText())
	}
	if n := f.tarballs.Load(); n != 0 {
		t.Errorf("a blocked version was fetched %d times", n)
	}
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
}

func TestProxyConcurrentDownloadsFetchOnce(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	tgz := up.publish(up.userToken("alice"), pkgJSONOf("left", "1.0.0", nil), "index.js", "x")
	down.corgi("left").want(t, http.StatusOK)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil)
			if r.status != http.StatusOK || !bytes.Equal(r.body, tgz) {
				t.Errorf("concurrent download: status %d", r.status)
			}
		}()
	}
	wg.Wait()
	if n := f.tarballs.Load(); n != 1 {
		t.Errorf("8 concurrent downloads fetched the tarball %d times, want 1", n)
	}
}

func TestProxyStale(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	tok := up.userToken("alice")
	up.publish(tok, pkgJSONOf("left", "1.0.0", nil), "index.js", "x")
	up.publish(tok, pkgJSONOf("right", "1.0.0", nil), "index.js", "x")
	down.corgi("left").want(t, http.StatusOK)
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
	// The upstream goes away and the TTL passes.
	f.set(false, true)
	later := time.Now().Add(time.Hour)
	down.expire(later)
	r := down.corgi("left").want(t, http.StatusOK)
	if got := r.header.Get(UpstreamHeader); got != "stale" {
		t.Errorf("%s = %q, want stale", UpstreamHeader, got)
	}
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
	// A name never fetched is 502 with a message, not 404.
	r = down.corgi("right").want(t, http.StatusBadGateway)
	if !strings.Contains(r.errorText(), "no upstream registry could be reached") {
		t.Errorf("error %q", r.errorText())
	}
}

// expire moves the clocks of e's proxy and upstream cache to at.
func (e *env) expire(at time.Time) {
	e.ahead.Store(int64(time.Until(at)))
}

func TestProxyFirstSeenBytesWin(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), pkgJSONOf("left", "1.0.0", nil), "index.js", "x")
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
	kept := get(down.packument("left"), "versions", "1.0.0", "dist", "integrity")
	// The upstream now says other bytes are 1.0.0.
	f.docs = func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(kept.(string)), []byte("sha512-"+strings.Repeat("A", 86)+"=="))
	}
	down.expire(time.Now().Add(time.Hour))
	if got := get(down.packument("left"), "versions", "1.0.0", "dist", "integrity"); got != kept {
		t.Errorf("integrity = %v after the upstream changed, want the first-seen %v", got, kept)
	}
}

func TestProxyCachedReadsNeedNoDatabase(t *testing.T) {
	up, _, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), pkgJSONOf("@up/left", "1.0.0", nil), "index.js", "x")
	type get struct{ path, accept string }
	warm := []get{{"/@up%2fleft", corgiAccept}, {"/@up%2fleft", "application/json"},
		{"/-/package/@up%2fleft/dist-tags", ""}, {"/@up/left/-/left-1.0.0.tgz", ""}}
	// Twice: the import of the tarball changes the package, whose pages
	// are then rendered again.
	for range 2 {
		for _, g := range warm {
			do(t, "GET", down.reg+g.path, "", nil, "Accept", g.accept).want(t, http.StatusOK)
		}
	}
	down.DB.Close()
	for _, g := range warm {
		r := do(t, "GET", down.reg+g.path, "", nil, "Accept", g.accept)
		if r.status != http.StatusOK || r.header.Get(UpstreamHeader) != "fresh" {
			t.Errorf("cached %s %q with the database closed: %d %s %q", g.path, g.accept, r.status, r.body, r.header.Get(UpstreamHeader))
		}
	}
}

// TestProxyImportRebuilds: trove log recover rebuilds an imported release
// from its proxy record with the metadata the import stored.
func TestProxyImportRebuilds(t *testing.T) {
	up, _, down := proxyEnvs(t, nil)
	up.publish(up.userToken("alice"), depJSON("left", "1.0.0", "dep"), "index.js", "x", "README.md", "# left\n\nLeft things.\n")
	do(t, "GET", down.reg+"/left/-/left-1.0.0.tgz", "", nil).want(t, http.StatusOK)
	n, err := down.DB.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := down.DB.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var ev *translog.Event
	for _, r := range recs {
		if e, err := translog.ParseEvent(r); err == nil && e.Kind == "proxy" {
			ev = e
		}
	}
	if ev == nil || len(ev.Files) != 1 {
		t.Fatalf("no proxy record of one file in the log: %+v", ev)
	}
	rc, err := down.Blobs.Open(ctx, blob.Digest(ev.Files[0].SHA256), 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := down.Registry.Stage(rc, 1<<20)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rebuilt, err := Rules{}.Rebuild(ev, []*registry.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	rels := down.releases("left")
	if len(rels) != 1 || !bytes.Equal(rels[0].Metadata, rebuilt.Metadata) {
		t.Errorf("stored metadata %s, rebuilt %s", rels[0].Metadata, rebuilt.Metadata)
	}
}

// TestProxyParsedDocsBounded: the parsed documents the proxy keeps stay
// within maxParsedBytes, and forgetting a name frees its share.
func TestProxyParsedDocsBounded(t *testing.T) {
	p := &proxy{now: time.Now, ttl: time.Minute, names: map[trove.Name]*proxyState{}}
	body := make([]byte, maxParsedBytes/3+1)
	state := func(size int) *proxyState {
		return &proxyState{checked: time.Now(), parsed: &parsedDoc{doc: &upstream.Doc{Body: body[:size]}, d: &upstreamDoc{}}}
	}
	kept := func() (n int, sum int64) {
		for _, st := range p.names {
			if st.parsed != nil {
				n++
				sum += st.parsed.size()
			}
		}
		return n, sum
	}
	for _, name := range []trove.Name{"a", "b", "c", "d", "@s/e"} {
		p.put(name, state(len(body)))
		if n, sum := kept(); sum != p.parsedBytes || p.parsedBytes > maxParsedBytes || n != min(len(p.names), 2) {
			t.Fatalf("after %s: %d documents of %d bytes kept, accounted %d (limit %d)", name, n, sum, p.parsedBytes, maxParsedBytes)
		}
	}
	p.put("a", state(len(body))) // replacing a state frees the old one's share
	if _, sum := kept(); sum != p.parsedBytes {
		t.Fatalf("after replacing a: kept %d, accounted %d", sum, p.parsedBytes)
	}
	p.forget("@s/x") // forgets every name of the scope
	if _, ok := p.names["@s/e"]; ok {
		t.Errorf("@s/e remembered after a change in its scope")
	}
	for n := range p.names {
		p.forget(n)
	}
	if p.parsedBytes != 0 {
		t.Errorf("%d bytes accounted with no name remembered", p.parsedBytes)
	}
}

// TestProxyCurationChanges: a curator's decision, about one name or a
// pattern, changes what clients see at once, although the proxy keeps
// decisions for the upstream TTL.
func TestProxyCurationChanges(t *testing.T) {
	var cur *curate.Service
	up, _, down := proxyEnvsWith(t, func(down *env) upstream.Policy {
		var err error
		if cur, err = curate.New(curate.Options{DB: down.DB, Registry: down.Registry}); err != nil {
			t.Fatal(err)
		}
		return cur
	})
	tok := up.userToken("alice")
	up.publish(tok, pkgJSONOf("left", "1.0.0", nil), "index.js", "1")
	up.publish(tok, pkgJSONOf("left", "1.1.0", nil), "index.js", "2")
	if latest := get(down.corgi("left").want(t, http.StatusOK).json(t), "dist-tags", "latest"); latest != "1.1.0" {
		t.Fatalf("latest = %v before any curation", latest)
	}
	root := &access.Principal{UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Curate}}
	if _, err := cur.Mark(ctx, root, curate.MarkChange{Ecosystem: trove.NPM, Name: "left", Versions: "1.1.0", Kind: curate.Deny, Why: "broken"}); err != nil {
		t.Fatal(err)
	}
	doc := down.corgi("left").want(t, http.StatusOK).json(t)
	if get(doc, "versions", "1.1.0") != nil || get(doc, "dist-tags", "latest") != "1.0.0" {
		t.Errorf("after denying left 1.1.0: %v", doc)
	}
	r := do(t, "GET", down.reg+"/left/-/left-1.1.0.tgz", "", nil).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "deny-list") || !strings.Contains(r.errorText(), "broken") {
		t.Errorf("refusal %q does not name the rule and why", r.errorText())
	}
	// A policy for every npm package: a cool-down no version has passed.
	minAge := 300 * 24 * time.Hour
	if _, err := cur.SetPolicy(ctx, root, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*", MinAge: &minAge, Why: "cool-down"}); err != nil {
		t.Fatal(err)
	}
	if vs := get(down.corgi("left").want(t, http.StatusOK).json(t), "versions"); len(vs.(map[string]any)) != 0 {
		t.Errorf("versions under a cool-down none has passed: %v", vs)
	}
}
