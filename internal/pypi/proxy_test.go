package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// A proxyPair is a Trove "up" (the upstream, a real Trove serving PyPI)
// and a Trove "down" proxying it, possibly through a front that tampers
// with or counts what "up" sends.
type proxyPair struct {
	up, down *testEnv
	front    *front
	now      *atomic.Pointer[time.Time]
}

// A front is a reverse proxy in front of "up": it counts file downloads
// and, when told to, flips a byte of files or core metadata files, or
// answers every request with 503 (the upstream is down).
type front struct {
	srv                *httptest.Server
	target             atomic.Pointer[string]
	files              atomic.Int64
	tamper, tamperMeta atomic.Bool
	down               atomic.Bool
	mu                 sync.Mutex
	requests           []string
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path)
	f.mu.Unlock()
	if f.down.Load() {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, *f.target.Load()+r.URL.RequestURI(), nil)
	req.Header = r.Header.Clone()
	req.Header.Del("Accept-Encoding")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	isMeta := strings.HasSuffix(r.URL.Path, metadataSuffix)
	if strings.Contains(r.URL.Path, "/packages/") && !isMeta {
		f.files.Add(1)
	}
	if len(b) > 0 && resp.StatusCode == 200 && strings.Contains(r.URL.Path, "/packages/") &&
		(isMeta && f.tamperMeta.Load() || !isMeta && f.tamper.Load()) {
		b = bytes.Clone(b)
		b[len(b)/2] ^= 0x01
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b)
}

// newProxyPair starts "up", its front, and "down" with the front as its
// upstream and the curation policy p (nil: everything allowed).
func newProxyPair(t testing.TB, p upstream.Policy) *proxyPair {
	t.Helper()
	pp := &proxyPair{front: &front{}, now: &atomic.Pointer[time.Time]{}}
	start := time.Now()
	pp.now.Store(&start)
	pp.front.srv = httptest.NewServer(pp.front)
	t.Cleanup(pp.front.srv.Close)
	// Up's base URL is the front's, so that the files its pages name are
	// fetched through the front too.
	pp.up = newTestEnv(t, func(o *Options) { o.BaseURL = pp.front.srv.URL + "/pypi" })
	target := strings.TrimSuffix(pp.up.url, "/pypi")
	pp.front.target.Store(&target)
	pp.down = newTestEnvOf(t, func(e *testEnv, o *Options) {
		o.Upstream = upstream.New(upstream.Options{
			Ecosystem: trove.PyPI,
			Sources:   []upstream.Source{{Name: "up", URL: pp.front.srv.URL + "/pypi"}},
			Store:     e.DB,
			TTL:       time.Minute,
			Policy:    p,
			Now:       func() time.Time { return *pp.now.Load() },
		})
		o.Now = func() time.Time { return *pp.now.Load() }
	})
	return pp
}

// advance moves down's clock, so that cached upstream documents expire.
func (pp *proxyPair) advance(d time.Duration) {
	t := pp.now.Load().Add(d)
	pp.now.Store(&t)
}

// simpleJSON is a PEP 691 page as the tests read it.
type simpleJSON struct {
	Meta     map[string]any `json:"meta"`
	Name     string         `json:"name"`
	Versions []string       `json:"versions"`
	Files    []struct {
		Filename     string            `json:"filename"`
		URL          string            `json:"url"`
		Hashes       map[string]string `json:"hashes"`
		Yanked       any               `json:"yanked"`
		CoreMetadata any               `json:"core-metadata"`
		Size         int64             `json:"size"`
		UploadTime   string            `json:"upload-time"`
	} `json:"files"`
}

func (e *testEnv) simpleJSON(t testing.TB, name string) (simpleJSON, response) {
	t.Helper()
	r := e.get(t, "/simple/"+name+"/", "Accept", "application/vnd.pypi.simple.v1+json")
	var doc simpleJSON
	if r.StatusCode == 200 {
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatalf("page of %s: %v\n%s", name, err, r.body)
		}
	}
	return doc, r
}

func TestProxyProjectPage(t *testing.T) {
	pp := newProxyPair(t, nil)
	w1 := pp.up.uploadWheel(t, "Demo.Pkg", "1.0", "Requires-Python: >=3.8")
	s2 := pp.up.uploadSdist(t, "Demo.Pkg", "2.0")

	doc, r := pp.down.simpleJSON(t, "demo-pkg")
	if r.StatusCode != 200 || r.Header.Get(upstreamHeader) != "fresh" {
		t.Fatalf("proxied page: %s %s=%q\n%s", r.Status, upstreamHeader, r.Header.Get(upstreamHeader), r.body)
	}
	if fmt.Sprint(doc.Versions) != "[1.0 2.0]" || len(doc.Files) != 2 {
		t.Fatalf("proxied page: versions %v, %d files\n%s", doc.Versions, len(doc.Files), r.body)
	}
	for i, want := range []struct {
		fn, sha string
		size    int
	}{{wheelFilename("Demo.Pkg", "1.0"), sha(w1), len(w1)}, {"Demo.Pkg-2.0.tar.gz", sha(s2), len(s2)}} {
		f := doc.Files[i]
		wantURL := pp.down.url + "/packages/" + want.sha + "/" + want.fn
		if f.Filename != want.fn || f.URL != wantURL || f.Hashes["sha256"] != want.sha || f.Size != int64(want.size) || f.UploadTime == "" {
			t.Errorf("file %d: %+v, want %s at %s with sha256 %s and size %d", i, f, want.fn, wantURL, want.sha, want.size)
		}
	}
	if cm, ok := doc.Files[0].CoreMetadata.(map[string]any); !ok || cm["sha256"] == "" {
		t.Errorf("the wheel's core metadata is not passed through: %v", doc.Files[0].CoreMetadata)
	}
	if strings.Contains(r.body, pp.front.srv.URL) {
		t.Errorf("the proxied page names the upstream:\n%s", r.body)
	}

	h := pp.down.get(t, "/simple/demo-pkg/")
	wantHref := `href="` + pp.down.url + "/packages/" + sha(w1) + "/" + wheelFilename("Demo.Pkg", "1.0") + "#sha256=" + sha(w1) + `"`
	if h.StatusCode != 200 || !strings.Contains(h.body, wantHref) || !strings.Contains(h.body, `data-requires-python="&gt;=3.8"`) ||
		!strings.Contains(h.body, `data-core-metadata="sha256=`) || h.Header.Get(upstreamHeader) != "fresh" {
		t.Errorf("proxied HTML page: %s, want %s\n%s", h.Status, wantHref, h.body)
	}

	if r := pp.down.get(t, "/simple/no-such-project/"); r.StatusCode != 404 {
		t.Errorf("a project no upstream has: %s, want 404", r.Status)
	}
}

func TestProxyFileImport(t *testing.T) {
	pp := newProxyPair(t, nil)
	w := pp.up.uploadWheel(t, "demo", "1.0")
	doc, _ := pp.down.simpleJSON(t, "demo")
	fileURL := strings.TrimPrefix(doc.Files[0].URL, pp.down.url)

	// Concurrent first requests fetch the file once.
	var wg sync.WaitGroup
	bodies := make([]response, 4)
	for i := range bodies {
		wg.Go(func() { bodies[i] = pp.down.get(t, fileURL) })
	}
	wg.Wait()
	for i, r := range bodies {
		if r.StatusCode != 200 || r.body != string(w) {
			t.Fatalf("download %d: %s %q", i, r.Status, clip(r.body, 200))
		}
	}
	if n := pp.front.files.Load(); n != 1 {
		t.Errorf("%d concurrent downloads fetched the file %d times from the upstream, want once", len(bodies), n)
	}

	// Imported: an upstream package whose release records its source, in the log.
	proj, err := pp.down.Registry.Project(context.Background(), trove.PyPI, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !proj.Package.Upstream || len(proj.Files) != 1 || proj.Files[0].SHA256 != sha(w) {
		t.Errorf("imported project: upstream=%v, files %v", proj.Package.Upstream, proj.Files)
	}
	if !logHas(t, pp.down, "proxy", "source up", sha(w)) {
		t.Error("no proxy record of the file in down's transparency log")
	}

	// Served from Trove from now on, also with the upstream down.
	pp.front.down.Store(true)
	if r := pp.down.get(t, fileURL); r.StatusCode != 200 || r.body != string(w) || pp.front.files.Load() != 1 {
		t.Errorf("imported file with the upstream down: %s", r.Status)
	}
	if r := pp.down.get(t, fileURL+metadataSuffix); r.StatusCode != 200 || !strings.Contains(r.body, "Name: demo") {
		t.Errorf("imported wheel's core metadata: %s %q", r.Status, r.body)
	}
}

// logHas reports whether a record of e's transparency log holds every want.
func logHas(t *testing.T, e *testEnv, wants ...string) bool {
	t.Helper()
	ctx := context.Background()
	n, err := e.DB.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.DB.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		ok := true
		for _, w := range wants {
			ok = ok && strings.Contains(string(rec), w)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestProxyTamperedFileRefused(t *testing.T) {
	pp := newProxyPair(t, nil)
	w := pp.up.uploadWheel(t, "demo", "1.0")
	fileURL := "/packages/" + sha(w) + "/" + wheelFilename("demo", "1.0")
	pp.down.simpleJSON(t, "demo")
	pp.front.tamper.Store(true)
	if r := pp.down.get(t, fileURL); r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, "sha256") {
		t.Errorf("tampered file: %s %q, want 502 naming the sha256", r.Status, r.body)
	}
	if _, err := pp.down.Registry.File(context.Background(), trove.PyPI, "demo", wheelFilename("demo", "1.0")); err == nil {
		t.Error("the tampered file was stored")
	}
	pp.front.tamper.Store(false)
	if r := pp.down.get(t, fileURL); r.StatusCode != 200 || r.body != string(w) {
		t.Errorf("the genuine file after a refused tampered one: %s", r.Status)
	}
}

func TestProxyMetadataFile(t *testing.T) {
	pp := newProxyPair(t, nil)
	w := pp.up.uploadWheel(t, "demo", "1.0")
	metaURL := "/packages/" + sha(w) + "/" + wheelFilename("demo", "1.0") + metadataSuffix
	pp.down.simpleJSON(t, "demo")
	pp.front.tamperMeta.Store(true)
	if r := pp.down.get(t, metaURL); r.StatusCode != http.StatusBadGateway {
		t.Errorf("tampered core metadata: %s %q, want 502", r.Status, r.body)
	}
	pp.front.tamperMeta.Store(false)
	r := pp.down.get(t, metaURL)
	want := pp.up.get(t, metaURL)
	if r.StatusCode != 200 || r.body != want.body || r.Header.Get("Content-Type") != metadataContentType {
		t.Errorf("core metadata: %s %q, want %q", r.Status, r.body, want.body)
	}
	if pp.front.files.Load() != 0 {
		t.Error("serving the core metadata fetched the whole wheel")
	}
	if _, err := pp.down.Registry.File(context.Background(), trove.PyPI, "demo", wheelFilename("demo", "1.0")); err == nil {
		t.Error("serving the core metadata imported the wheel")
	}
}

func TestProxyNeverServesUpstreamUnderLocalName(t *testing.T) {
	pp := newProxyPair(t, nil)
	local := pp.down.uploadWheel(t, "demo", "1.0")
	higher := pp.up.uploadWheel(t, "demo", "9.0")
	doc, r := pp.down.simpleJSON(t, "demo")
	if r.StatusCode != 200 || fmt.Sprint(doc.Versions) != "[1.0]" || len(doc.Files) != 1 || doc.Files[0].Hashes["sha256"] != sha(local) ||
		r.Header.Get(upstreamHeader) != "" {
		t.Errorf("local project's page: %s %s=%q\n%s", r.Status, upstreamHeader, r.Header.Get(upstreamHeader), r.body)
	}
	if r := pp.down.get(t, "/packages/"+sha(higher)+"/"+wheelFilename("demo", "9.0")); r.StatusCode != 404 {
		t.Errorf("upstream file under a local name: %s, want 404", r.Status)
	}
	if n := pp.front.files.Load(); n != 0 {
		t.Errorf("the upstream was asked for a file of a local name %d times", n)
	}
}

// denyVersion is a curation policy blocking one version.
type denyVersion string

func (d denyVersion) Decide(_ context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	out := make([]upstream.Decision, len(vs))
	for i, v := range vs {
		out[i] = upstream.Decision{Allowed: true}
		if v.Version == string(d) {
			out[i] = upstream.Decision{Rule: "deny", Why: "denied for the test"}
		}
	}
	return out, nil
}

func TestProxyPolicyFiltersAndRefuses(t *testing.T) {
	pp := newProxyPair(t, denyVersion("2.0"))
	pp.up.uploadWheel(t, "demo", "1.0")
	w2 := pp.up.uploadWheel(t, "demo", "2.0")
	doc, r := pp.down.simpleJSON(t, "demo")
	if r.StatusCode != 200 || fmt.Sprint(doc.Versions) != "[1.0]" || len(doc.Files) != 1 {
		t.Errorf("page with 2.0 denied: %s\n%s", r.Status, r.body)
	}
	r = pp.down.get(t, "/packages/"+sha(w2)+"/"+wheelFilename("demo", "2.0"))
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "rule deny") {
		t.Errorf("denied file: %s %q, want 403 naming the rule", r.Status, r.body)
	}
	if pp.front.files.Load() != 0 {
		t.Error("a denied file was fetched")
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	pp := newProxyPair(t, nil)
	w := pp.up.uploadWheel(t, "demo", "1.0")
	pp.up.uploadWheel(t, "other", "1.0")
	pp.down.simpleJSON(t, "demo")
	pp.front.down.Store(true)
	pp.advance(time.Hour) // the cached document is old: revalidation fails

	doc, r := pp.down.simpleJSON(t, "demo")
	if r.StatusCode != 200 || r.Header.Get(upstreamHeader) != "stale" || len(doc.Files) != 1 {
		t.Errorf("cached page with the upstream down: %s %s=%q", r.Status, upstreamHeader, r.Header.Get(upstreamHeader))
	}
	if r := pp.down.get(t, "/simple/other/"); r.StatusCode != http.StatusBadGateway && r.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("uncached page with the upstream down: %s %q, want 502 or 504", r.Status, r.body)
	}
	if r := pp.down.get(t, "/packages/"+sha(w)+"/"+wheelFilename("demo", "1.0")); r.StatusCode != http.StatusBadGateway && r.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("uncached file with the upstream down: %s %q, want 502 or 504", r.Status, r.body)
	}
}

// TestProxyHTMLUpstream proxies an upstream that speaks only PEP 503 HTML,
// with relative URLs, files on another host, and a file without a sha256.
func TestProxyHTMLUpstream(t *testing.T) {
	w := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0"))
	s := makeSdist(t, "demo", "1.1", metadataFor("demo", "1.1"))
	files := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/f/" + wheelFilename("demo", "1.0"):
			rw.Write(w)
		case "/f/demo-1.1.tar.gz":
			rw.Write(s)
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(files.Close)
	index := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/simple/demo/" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(rw, `<html><body><base href="%s/f/">
<a href="%s#sha256=%s">w</a>
<a href="demo-1.1.tar.gz">no hash</a>
<a href="%s/f/demo-1.1.tar.gz#sha256=%s">on a host not allowed</a>
</body></html>`, files.URL, wheelFilename("demo", "1.0"), sha(w), strings.Replace(files.URL, "127.0.0.1", "localhost", 1), sha(s))
	}))
	t.Cleanup(index.Close)
	u, _ := url.Parse(files.URL)
	down := newTestEnvOf(t, func(e *testEnv, o *Options) {
		o.Upstream = upstream.New(upstream.Options{Ecosystem: trove.PyPI, Store: e.DB,
			Sources: []upstream.Source{{Name: "html", URL: index.URL, ArtifactHosts: []string{u.Host}}}})
	})
	doc, r := down.simpleJSON(t, "demo")
	if r.StatusCode != 200 || len(doc.Files) != 2 {
		t.Fatalf("page from an HTML upstream: %s\n%s", r.Status, r.body)
	}
	if r := down.get(t, "/packages/"+sha(w)+"/"+wheelFilename("demo", "1.0")); r.StatusCode != 200 || r.body != string(w) {
		t.Errorf("file from an artifact host: %s %q", r.Status, clip(r.body, 200))
	}
	if r := down.get(t, "/packages/"+sha(s)+"/demo-1.1.tar.gz"); r.StatusCode == 200 {
		t.Errorf("file without a sha256 in the index, or on a host not allowed: %s, want it refused", r.Status)
	}
}

// The proxied benchmarks are those of local pages and files
// (BenchmarkSimplePageCached, BenchmarkFileDownload) on a proxied project,
// once its page is cached and its file imported.

func BenchmarkProxiedSimplePageCached(b *testing.B) {
	pp := newProxyPair(b, nil)
	for v := range 20 {
		pp.up.uploadWheel(b, "demo", "1."+itoa(int64(v)))
	}
	benchGet(b, pp.down.url+"/simple/demo/", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
}

func BenchmarkProxiedFileDownload(b *testing.B) {
	pp := newProxyPair(b, nil)
	w := pp.up.uploadWheel(b, "demo", "1.0", "Description-Content-Type: text/plain\nKeywords: "+strings.Repeat("k", 200<<10))
	pp.down.simpleJSON(b, "demo")
	b.SetBytes(int64(len(w)))
	benchGet(b, pp.down.url+"/packages/"+sha(w)+"/"+wheelFilename("demo", "1.0"), "")
	if n := pp.front.files.Load(); n != 1 {
		b.Errorf("the upstream was asked for the file %d times, want once", n)
	}
}

// benchGet measures GET url over a real loopback connection.
func benchGet(b *testing.B, url, accept string) {
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// TestProxyUploadOfUpstreamNameRefused uploads to down a new project that
// up has: the registry asks the adapter (HasUpstream) and refuses it.
func TestProxyUploadOfUpstreamNameRefused(t *testing.T) {
	pp := newProxyPair(t, nil)
	pp.down.Registry.SetUpstreams(upstream.Names{trove.PyPI: pp.down.h.HasUpstream})
	pp.up.uploadWheel(t, "taken", "1.0")
	w := makeWheel(t, "taken", "2.0", metadataFor("taken", "2.0"))
	r := pp.down.post(t, pp.down.token, twineForm(kindWheel, "taken", "2.0", w), wheelFilename("taken", "2.0"), w)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "trove upstream allow") {
		t.Errorf("upload of a name an upstream has: %s %q, want 409 naming trove upstream allow", r.Status, r.body)
	}
	if _, err := pp.down.Registry.Project(context.Background(), trove.PyPI, "taken"); err == nil {
		t.Error("the refused upload created the project")
	}
	pp.down.uploadWheel(t, "free", "1.0") // a name no upstream has
}

// coolDown blocks every version published less than d before now().
type coolDown struct {
	d   time.Duration
	now func() time.Time
}

func (c coolDown) Decide(_ context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	out := make([]upstream.Decision, len(vs))
	for i, v := range vs {
		out[i] = upstream.Decision{Allowed: true}
		if v.Published.IsZero() || c.now().Sub(v.Published) < c.d {
			out[i] = upstream.Decision{Rule: "cooldown", Why: "too new"}
		}
	}
	return out, nil
}

// TestProxyCoolDownEnds: a version too new is left out of the page, and
// listed once the cool-down has passed, within the upstream TTL, though
// the upstream's page did not change.
func TestProxyCoolDownEnds(t *testing.T) {
	var pp *proxyPair
	pp = newProxyPair(t, coolDown{d: 3 * time.Hour, now: func() time.Time { return *pp.now.Load() }})
	pp.up.uploadWheel(t, "demo", "1.0")
	for range 2 { // the second time, the upstream answers 304 Not Modified
		if doc, r := pp.down.simpleJSON(t, "demo"); r.StatusCode != 200 || len(doc.Files) != 0 || len(doc.Versions) != 0 {
			t.Errorf("page within the cool-down: %s\n%s", r.Status, r.body)
		}
		pp.advance(2 * time.Minute)
	}
	pp.advance(4 * time.Hour)
	if doc, r := pp.down.simpleJSON(t, "demo"); r.StatusCode != 200 || len(doc.Files) != 1 || fmt.Sprint(doc.Versions) != "[1.0]" {
		t.Errorf("page after the cool-down: %s\n%s", r.Status, r.body)
	}
}

// switchPolicy denies the version it holds ("" for none).
type switchPolicy struct{ deny *atomic.Pointer[string] }

func (p switchPolicy) Decide(ctx context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	return denyVersion(*p.deny.Load()).Decide(ctx, vs)
}

// TestProxyPolicyBlocksImportedFile: a version denied after its file was
// imported is left out of the page, and its file refused with 403, once
// the page is rendered again (within the TTL).
func TestProxyPolicyBlocksImportedFile(t *testing.T) {
	deny := &atomic.Pointer[string]{}
	none := ""
	deny.Store(&none)
	pp := newProxyPair(t, switchPolicy{deny})
	w := pp.up.uploadWheel(t, "demo", "1.0")
	pp.up.uploadWheel(t, "demo", "2.0")
	fileURL := "/packages/" + sha(w) + "/" + wheelFilename("demo", "1.0")
	pp.down.simpleJSON(t, "demo")
	if r := pp.down.get(t, fileURL); r.StatusCode != 200 {
		t.Fatalf("allowed file: %s", r.Status)
	}
	v := "1.0"
	deny.Store(&v)
	pp.advance(2 * time.Minute)
	if doc, r := pp.down.simpleJSON(t, "demo"); fmt.Sprint(doc.Versions) != "[2.0]" || len(doc.Files) != 1 {
		t.Errorf("page once 1.0 is denied: %s\n%s", r.Status, r.body)
	}
	for _, u := range []string{fileURL, fileURL + metadataSuffix} {
		if r := pp.down.get(t, u); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "rule deny") {
			t.Errorf("imported %s of a denied version: %s %q, want 403 naming the rule", u, r.Status, r.body)
		}
	}
	deny.Store(&none)
	pp.advance(2 * time.Minute)
	pp.down.simpleJSON(t, "demo")
	if r := pp.down.get(t, fileURL); r.StatusCode != 200 || r.body != string(w) {
		t.Errorf("file allowed again: %s", r.Status)
	}
}
