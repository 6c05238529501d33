package goproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// upName is the upstream Trove's log and checksum database name.
const upName = "up.example.test/log"

// An upstreamPair is a Trove ("up") serving Go modules and its checksum
// database, a relay in front of it that counts requests and can flip a
// byte of what passes, and a Trove ("down") with the relay as its only Go
// upstream.
type upstreamPair struct {
	up, down *testEnv
	relay    *httptest.Server

	mu   sync.Mutex
	hits map[string]int // by path below the relay
	// tamper, if set, rewrites the body of every successful answer.
	tamper func(path string, body []byte) []byte
}

func newUpstreamPair(t testing.TB) *upstreamPair {
	t.Helper()
	return newUpstreamPairWith(t, nil)
}

// newUpstreamPairWith is newUpstreamPair with Down's upstream options
// changed by opt (a curation policy, rate limits).
func newUpstreamPairWith(t testing.TB, opt func(*upstream.Options)) *upstreamPair {
	t.Helper()
	p := &upstreamPair{hits: map[string]int{}}
	p.up = newTestEnvNamed(t, upName, servertest.Options{})
	target, err := url.Parse(p.up.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = p.modify
	p.relay = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.relay.Close)
	p.down = newTestEnvNamed(t, logName, servertest.Options{}, func(o *Options) {
		db := o.LogStore.(*meta.DB)
		uo := upstream.Options{Ecosystem: trove.Go, Store: db,
			Sources: []upstream.Source{{Name: "up", URL: p.relay.URL + "/go", SumDB: p.up.vkey}}}
		if opt != nil {
			opt(&uo)
		}
		o.Upstream = upstream.New(uo)
		o.SumState = db
	})
	return p
}

// modify applies p.tamper.
func (p *upstreamPair) modify(resp *http.Response) error {
	p.mu.Lock()
	tamper := p.tamper
	p.mu.Unlock()
	if tamper == nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	b = tamper(resp.Request.URL.Path, b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Del("ETag")
	return nil
}

func (p *upstreamPair) setTamper(f func(path string, body []byte) []byte) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

// hitsOf returns how many requests for paths containing s reached up.
func (p *upstreamPair) hitsOf(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for path, c := range p.hits {
		if strings.Contains(path, s) {
			n += c
		}
	}
	return n
}

const modUp = "example.test/upb"

func TestUpstreamModules(t *testing.T) {
	p := newUpstreamPair(t)
	z1, mod1 := p.up.publish(t, modUp, "v1.0.0")
	p.up.publish(t, modUp, "v1.1.0")
	d := p.down

	r := d.get(t, "/"+modUp+"/@v/list")
	if r.StatusCode != 200 || r.body != "v1.0.0\nv1.1.0\n" || r.Header.Get("X-Trove-Upstream") != "fresh" {
		t.Fatalf("list of an upstream module: %s %q %v, want up's versions, fresh", r.Status, r.body, r.Header)
	}
	if r := d.get(t, "/"+modUp+"/@latest"); r.StatusCode != 200 || !strings.Contains(r.body, `"v1.1.0"`) || strings.Contains(r.body, `"0001-`) {
		t.Errorf("@latest of an upstream module: %s %s, want v1.1.0 with its time", r.Status, r.body)
	}
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.mod"); r.StatusCode != 200 || r.body != string(mod1) {
		t.Errorf("mod: %s %q, want up's", r.Status, r.body)
	}
	for range 2 {
		if r := d.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 || r.body != string(z1) {
			t.Errorf("zip: %s, %d bytes, want up's %d", r.Status, len(r.body), len(z1))
		}
	}
	// The .info keeps the upstream's time, not the import's.
	if r, upInfo := d.get(t, "/"+modUp+"/@v/v1.0.0.info"), p.up.get(t, "/"+modUp+"/@v/v1.0.0.info"); r.StatusCode != 200 || r.body != upInfo.body {
		t.Errorf("info: %s %s, want up's %s", r.Status, r.body, upInfo.body)
	}
	proj, err := d.Registry.Project(context.Background(), trove.Go, modUp)
	if err != nil || len(proj.Releases) != 1 || !strings.Contains(string(proj.Releases[0].Metadata), `"time":"`) {
		t.Errorf("the imported release's metadata does not keep the upstream's time: %v", err)
	}
	if n := p.hitsOf("/v1.0.0.zip"); n != 1 {
		t.Errorf("up was asked %d times for the zip, want once", n)
	}

	// The import is in down's log as a proxy record with the go.sum
	// lines, and down's checksum database answers for it; a lookup of a
	// version not imported yet imports it.
	ctx := context.Background()
	entries, err := d.Registry.LogEntries(ctx, trove.Go, modUp, "v1.0.0")
	if err != nil || len(entries) == 0 || entries[0].Kind != "proxy" {
		t.Fatalf("down's log entries of the import: %+v, %v; want a proxy record", entries, err)
	}
	upLines := goSumLines(t, p.up, modUp, "v1.0.0")
	ops := &clientOps{t: t, base: d.url + "/sumdb/" + logName + "/", vkey: d.vkey, config: map[string][]byte{}, cache: map[string][]byte{}}
	c := sumdb.NewClient(ops)
	if lines, err := c.Lookup(modUp, "v1.0.0"); err != nil || len(lines) != 1 || lines[0] != upLines[0] {
		t.Errorf("down's database Lookup(%s@v1.0.0) = %q, %v; want up's %q", modUp, lines, err, upLines[0])
	}
	// The import appends a record; the lookup's tree includes it once the
	// log signs again, which it does at most every catchUpEvery without a
	// registry that signs after every change (servertest's).
	time.Sleep(2 * 100 * time.Millisecond)
	if lines, err := c.Lookup(modUp, "v1.1.0/go.mod"); err != nil || len(lines) != 1 {
		t.Errorf("down's database Lookup(%s@v1.1.0/go.mod), not imported before: %q, %v", modUp, lines, err)
	}
	if n := p.hitsOf("/v1.1.0.zip"); n != 1 {
		t.Errorf("the lookup of v1.1.0 fetched its zip %d times, want once (an import)", n)
	}

	// Down relays up's checksum database for the go command.
	if r := d.get(t, "/sumdb/"+upName+"/supported"); r.StatusCode != 200 {
		t.Errorf("supported for the upstream's database: %s, want 200", r.Status)
	}
	upOps := &clientOps{t: t, base: d.url + "/sumdb/" + upName + "/", vkey: p.up.vkey, config: map[string][]byte{}, cache: map[string][]byte{}}
	if lines, err := sumdb.NewClient(upOps).Lookup(modUp, "v1.0.0"); err != nil || len(lines) != 1 || lines[0] != upLines[0] {
		t.Errorf("up's database through down's relay: %q, %v; want %q", lines, err, upLines[0])
	}
}

// goSumLines returns the go.sum lines of a version's publish record.
func goSumLines(t *testing.T, e *testEnv, mod, v string) []string {
	t.Helper()
	ctx := context.Background()
	entries, err := e.Registry.LogEntries(ctx, trove.Go, mod, v)
	if err != nil || len(entries) == 0 {
		t.Fatalf("log entries of %s@%s: %v", mod, v, err)
	}
	recs, err := e.DB.ReadLogRecords(ctx, entries[0].ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(recs[0])), "\n")
	return lines[len(lines)-2:]
}

// A version whose files are altered on the way is refused with a
// SECURITY ERROR when they still make a valid module (other content,
// other go.sum lines), and as a bad upstream answer when they do not;
// nothing of it is kept either way, and once the upstream serves the
// right bytes, the version imports.
func TestUpstreamTamperedRefused(t *testing.T) {
	p := newUpstreamPair(t)
	z, _ := p.up.publish(t, modUp, "v1.0.0")
	p.up.publish(t, modUp, "v1.1.0")
	p.up.publish(t, modUp, "v1.2.0")
	d := p.down
	ctx := context.Background()
	otherMod := string(goMod(modUp)) + "// altered\n"
	for _, c := range []struct {
		version string
		tamper  func(path string, body []byte) []byte
		status  int
		want    string
	}{
		{"v1.0.0", func(path string, b []byte) []byte { // other content
			if strings.HasSuffix(path, "v1.0.0.zip") {
				return moduleZip(t, modUp, "v1.0.0", map[string]string{"go.mod": string(goMod(modUp)), "lib.go": "package lib\n\nconst Evil = true\n"})
			}
			return b
		}, http.StatusGone, "SECURITY ERROR"},
		{"v1.1.0", func(path string, b []byte) []byte { // another go.mod, in both
			switch {
			case strings.HasSuffix(path, "v1.1.0.mod"):
				return []byte(otherMod)
			case strings.HasSuffix(path, "v1.1.0.zip"):
				return moduleZip(t, modUp, "v1.1.0", map[string]string{"go.mod": otherMod, "lib.go": "package lib\n"})
			}
			return b
		}, http.StatusGone, "SECURITY ERROR"},
		{"v1.2.0", func(path string, b []byte) []byte { // a flipped byte
			if strings.HasSuffix(path, "v1.2.0.zip") {
				b[len(b)-1] ^= 1
			}
			return b
		}, http.StatusBadGateway, "not a valid module version"},
	} {
		p.setTamper(c.tamper)
		r := d.get(t, "/"+modUp+"/@v/"+c.version+".info")
		if r.StatusCode != c.status || !strings.Contains(r.body, c.want) || !strings.Contains(r.body, "upstream up") {
			t.Errorf("%s@%s altered: %s %q, want %d with %q", modUp, c.version, r.Status, r.body, c.status, c.want)
		}
		if _, err := d.Registry.File(ctx, trove.Go, modUp, c.version+".zip"); err == nil {
			t.Errorf("the refused %s@%s was stored", modUp, c.version)
		}
		if entries, _ := d.Registry.LogEntries(ctx, trove.Go, modUp, c.version); len(entries) != 0 {
			t.Errorf("the refused %s@%s is in the log: %+v", modUp, c.version, entries)
		}
	}
	p.setTamper(nil)
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 || r.body != string(z) {
		t.Errorf("zip once the upstream is honest: %s", r.Status)
	}
}

// A module path at or below a local module is never asked of the
// upstream, even when the upstream has higher versions.
func TestUpstreamNeverForLocalTree(t *testing.T) {
	p := newUpstreamPair(t)
	p.up.publish(t, "example.test/tree", "v1.5.0")
	p.up.publish(t, "example.test/tree/sub", "v1.0.0")
	p.down.publish(t, "example.test/tree", "v1.0.0")
	d := p.down
	if r := d.get(t, "/example.test/tree/@v/list"); r.body != "v1.0.0\n" {
		t.Errorf("list of a local module: %q, want only the local version", r.body)
	}
	if r := d.get(t, "/example.test/tree/@latest"); !strings.Contains(r.body, `"v1.0.0"`) {
		t.Errorf("@latest of a local module: %s, want the local version", r.body)
	}
	for _, path := range []string{"/example.test/tree/@v/v1.5.0.info", "/example.test/tree/@v/v1.5.0.zip", "/example.test/tree/sub/@v/v1.0.0.mod", "/example.test/tree/sub/@v/list"} {
		if r := d.get(t, path); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s below a local module: %s %s, want 404", path, r.Status, r.body)
		}
	}
	if n := p.hitsOf("/example.test/tree"); n != 0 {
		t.Errorf("the upstream was asked %d times about a local module tree", n)
	}
}

// Concurrent first requests for one version import it once.
func TestUpstreamConcurrentImport(t *testing.T) {
	p := newUpstreamPair(t)
	z, _ := p.up.publish(t, modUp, "v1.0.0")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := p.down.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 || r.body != string(z) {
				t.Errorf("concurrent zip: %s", r.Status)
			}
		}()
	}
	wg.Wait()
	if n := p.hitsOf("/v1.0.0.zip"); n != 1 {
		t.Errorf("up was asked %d times for the zip, want once", n)
	}
}

// With the upstream gone, imported versions are served and cached
// metadata is served stale; anything else fails as unavailable, not 404.
func TestUpstreamDown(t *testing.T) {
	p := newUpstreamPair(t)
	z, _ := p.up.publish(t, modUp, "v1.0.0")
	p.up.publish(t, modUp, "v1.1.0")
	d := p.down
	if r := d.get(t, "/"+modUp+"/@v/list"); r.StatusCode != 200 {
		t.Fatalf("list: %s", r.Status)
	}
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 {
		t.Fatalf("zip: %s", r.Status)
	}
	p.relay.Close()
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 || r.body != string(z) {
		t.Errorf("imported zip with the upstream down: %s", r.Status)
	}
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.mod"); r.StatusCode != 200 {
		t.Errorf("imported mod with the upstream down: %s", r.Status)
	}
	if r := d.get(t, "/other.example.test/m/@v/v1.0.0.info"); r.StatusCode == http.StatusNotFound || r.StatusCode < 500 {
		t.Errorf("an uncached module with the upstream down: %s %s, want a 5xx saying so", r.Status, r.body)
	}
}

// fakePolicy blocks the versions in deny (rule deny-list), and, as a
// cool-down that fails closed would, every version whose time it is not
// given (rule cooldown). It records what it was asked.
type fakePolicy struct {
	deny map[string]bool
	mu   sync.Mutex
	seen []upstream.Version
}

func (d *fakePolicy) Decide(_ context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	d.mu.Lock()
	d.seen = append(d.seen, vs...)
	d.mu.Unlock()
	out := make([]upstream.Decision, len(vs))
	for i, v := range vs {
		switch {
		case d.deny[v.Version]:
			out[i] = upstream.Decision{Rule: "deny-list", Why: v.Version + " is on the deny list; ask the platform team"}
		case v.Published.IsZero():
			out[i] = upstream.Decision{Rule: "cooldown", Why: "its publication time is unknown"}
		default:
			out[i] = upstream.Decision{Allowed: true}
		}
	}
	return out, nil
}

// Versions the curation policy blocks are left out of list and @latest,
// an exact request is refused naming the rule (403), and nothing of them
// is fetched. The cool-down gets each version's time from its .info;
// versions refused otherwise need none.
func TestUpstreamCuration(t *testing.T) {
	policy := &fakePolicy{deny: map[string]bool{"v1.1.0": true}}
	p := newUpstreamPairWith(t, func(o *upstream.Options) { o.Policy = policy })
	p.up.publish(t, modUp, "v1.0.0")
	p.up.publish(t, modUp, "v1.1.0")
	d := p.down
	if r := d.get(t, "/"+modUp+"/@v/list"); r.body != "v1.0.0\n" {
		t.Errorf("list with v1.1.0 denied: %q, want only v1.0.0 (allowed once its time is known)", r.body)
	}
	if r := d.get(t, "/"+modUp+"/@latest"); !strings.Contains(r.body, `"v1.0.0"`) {
		t.Errorf("@latest with v1.1.0 denied: %s, want v1.0.0", r.body)
	}
	if n := p.hitsOf("/v1.1.0.info"); n != 0 {
		t.Errorf("listing fetched the .info of a version denied for another reason than its age %d times", n)
	}
	for _, f := range []string{".info", ".mod", ".zip"} {
		r := d.get(t, "/"+modUp+"/@v/v1.1.0"+f)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "deny-list") || !strings.Contains(r.body, "ask the platform team") {
			t.Errorf("GET v1.1.0%s, denied: %s %q, want 403 naming the rule and whom to ask", f, r.Status, r.body)
		}
	}
	if n := p.hitsOf("/v1.1.0.zip") + p.hitsOf("/v1.1.0.mod"); n != 0 {
		t.Errorf("a denied version's files were fetched %d times", n)
	}
	if r := d.get(t, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 {
		t.Errorf("the allowed version's zip: %s %s", r.Status, r.body)
	}
}

// An upstream has a module path when it has the module or one above it:
// publishing either here would make the upstream's module local.
func TestHasUpstream(t *testing.T) {
	p := newUpstreamPair(t)
	p.up.publish(t, "example.test/tree", "v1.0.0")
	ctx := context.Background()
	for name, want := range map[string]bool{
		"example.test/tree":        true,
		"example.test/tree/sub":    true,
		"example.test/tree/sub/v2": true,
		"example.test/other":       false,
		"other.example.test/tree":  false,
	} {
		if got, err := p.down.h.HasUpstream(ctx, trove.Name(name)); got != want || err != nil {
			t.Errorf("HasUpstream(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	p.relay.Close()
	if _, err := p.down.h.HasUpstream(ctx, "example.test/new"); !errors.Is(err, trove.ErrUpstream) {
		t.Errorf("HasUpstream with the upstream down = %v, want an upstream error (the publish must not guess)", err)
	}
}

// BenchmarkUpstreamZip compares a module zip served from a local
// release, from an imported upstream release (the same path once
// cached), and the first request of an upstream version (fetch .info,
// .mod and .zip, check, verify against the upstream checksum database,
// import). Run with -benchtime=Nx: each first-fetch iteration needs its
// own upstream version, published before the timer starts.
func BenchmarkUpstreamZip(b *testing.B) {
	p := newUpstreamPair(b)
	p.down.publish(b, "example.test/local", "v1.0.0")
	p.up.publish(b, modUp, "v1.0.0")
	if r := p.down.get(b, "/"+modUp+"/@v/v1.0.0.zip"); r.StatusCode != 200 {
		b.Fatal(r.Status)
	}
	for _, c := range []struct{ name, path string }{
		{"local", "/example.test/local/@v/v1.0.0.zip"},
		{"imported", "/" + modUp + "/@v/v1.0.0.zip"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if r := p.down.get(b, c.path); r.StatusCode != 200 {
					b.Fatal(r.Status)
				}
			}
		})
	}
	next := 0 // the benchmark function runs more than once
	b.Run("first-fetch", func(b *testing.B) {
		b.StopTimer()
		first := next
		for range b.N {
			p.up.publish(b, modUp, fmt.Sprintf("v1.2.%d", next))
			next++
		}
		b.StartTimer()
		for i := first; i < next; i++ {
			if r := p.down.get(b, fmt.Sprintf("/%s/@v/v1.2.%d.zip", modUp, i)); r.StatusCode != 200 {
				b.Fatal(r.Status, r.body)
			}
		}
	})
}

// The relay of the upstream's checksum database counts against the
// client's limit on upstream requests; kept answers do not.
func TestUpstreamDBRelayLimited(t *testing.T) {
	p := newUpstreamPairWith(t, func(o *upstream.Options) { o.Rates = limit.NewRates(limit.Rate{N: 2, Per: time.Hour}, nil) })
	p.up.publish(t, modUp, "v1.0.0")
	base := "/sumdb/" + upName + "/lookup/"
	for _, c := range []struct {
		op   string
		want int
	}{
		{modUp + "@v1.0.0", 200},           // asked, then kept
		{"example.test/none1@v1.0.0", 404}, // asked, not kept
		{"example.test/none2@v1.0.0", 429}, // over the limit
		{modUp + "@v1.0.0", 200},           // kept: not asked
	} {
		if r := p.down.get(t, base+c.op); r.StatusCode != c.want {
			t.Errorf("relay lookup %s: %s %s, want %d", c.op, r.Status, r.body, c.want)
		}
	}
}
