package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

var ctx = context.Background()

// fakeUpstream serves documents with an ETag, counting requests; down
// makes it answer 503, slow makes it hang.
type fakeUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	docs     map[string]string
	requests atomic.Int64
	down     atomic.Bool
	slow     atomic.Bool
	auth     atomic.Value // the last Authorization header
}

func newFake(t *testing.T, docs map[string]string) *fakeUpstream {
	f := &fakeUpstream{docs: docs}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.auth.Store(r.Header.Get("Authorization"))
		if f.slow.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.mu.Lock()
		body, ok := f.docs[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := `"` + blobSum(body) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) set(path, body string) {
	f.mu.Lock()
	f.docs[path] = body
	f.mu.Unlock()
}

func blobSum(s string) string { return string(blob.Sum([]byte(s)))[:16] }

type env struct {
	db    *meta.DB
	reg   *registry.Service
	now   time.Time
	nowMu sync.Mutex
}

func newEnv(t *testing.T) *env {
	e := &env{db: dbtest.Open(t), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	var err error
	e.reg, err = registry.New(registry.Config{DB: e.db, Blobs: memblob.New(), TempDir: filepath.Join(t.TempDir(), "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.nowMu.Lock()
	e.now = e.now.Add(d)
	e.nowMu.Unlock()
}

func (e *env) client(o upstream.Options) *upstream.Client {
	o.Ecosystem, o.Store, o.Now = "npm", e.db, e.clock
	return upstream.New(o)
}

func TestDocCachedRevalidatedAndStale(t *testing.T) {
	e := newEnv(t)
	up := newFake(t, map[string]string{"/left-pad": `{"v":1}`})
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL, Token: "s3cret"}}, TTL: time.Minute})
	d, err := c.Doc(ctx, "left-pad", "left-pad", nil)
	if err != nil || string(d.Body) != `{"v":1}` || d.Stale || d.Source.Name != "public" || d.URL != up.URL+"/left-pad" {
		t.Fatalf("first Doc = %+v, %v", d, err)
	}
	if got := up.auth.Load(); got != "Bearer s3cret" {
		t.Fatalf("Authorization sent = %q", got)
	}
	if _, err := c.Doc(ctx, "left-pad", "left-pad", nil); err != nil || up.requests.Load() != 1 {
		t.Fatalf("a fresh cached document was asked for again (%d requests, %v)", up.requests.Load(), err)
	}
	e.advance(2 * time.Minute)
	if d, err := c.Doc(ctx, "left-pad", "left-pad", nil); err != nil || string(d.Body) != `{"v":1}` || up.requests.Load() != 2 {
		t.Fatalf("revalidation (304) = %+v, %v after %d requests", d, err, up.requests.Load())
	}
	cached, _ := e.db.UpstreamDoc(ctx, "npm", "left-pad")
	if !cached.CheckedAt.Equal(e.clock()) || cached.FetchedAt.Equal(e.clock()) {
		t.Fatalf("a 304 should move checked_at only: %+v", cached)
	}
	up.set("/left-pad", `{"v":2}`)
	e.advance(2 * time.Minute)
	if d, err := c.Doc(ctx, "left-pad", "left-pad", nil); err != nil || string(d.Body) != `{"v":2}` {
		t.Fatalf("changed document = %+v, %v", d, err)
	}
	up.down.Store(true)
	e.advance(2 * time.Minute)
	d, err = c.Doc(ctx, "left-pad", "left-pad", nil)
	if err != nil || !d.Stale || string(d.Body) != `{"v":2}` || d.Freshness() != "stale" {
		t.Fatalf("upstream down: Doc = %+v, %v; want the cached copy, stale", d, err)
	}
	_, err = c.Doc(ctx, "never-cached", "never-cached", nil)
	if !errors.Is(err, trove.ErrUpstream) || errors.Is(err, trove.ErrNotFound) || !strings.Contains(err.Error(), "no upstream registry could be reached") {
		t.Fatalf("uncached while down = %v, want ErrUpstream (502), never not-found", err)
	}
}

func TestDocNotFoundAndSourceOrder(t *testing.T) {
	e := newEnv(t)
	first := newFake(t, map[string]string{"/a": "from first"})
	second := newFake(t, map[string]string{"/a": "from second", "/b": "only second"})
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "first", URL: first.URL}, {Name: "second", URL: second.URL}}})
	if d, err := c.Doc(ctx, "a", "a", nil); err != nil || string(d.Body) != "from first" {
		t.Fatalf("a = %+v, %v", d, err)
	}
	if d, err := c.Doc(ctx, "b", "b", nil); err != nil || string(d.Body) != "only second" || d.Source.Name != "second" {
		t.Fatalf("b = %+v, %v", d, err)
	}
	if _, err := c.Doc(ctx, "c", "c", nil); !errors.Is(err, trove.ErrNotFound) {
		t.Fatalf("c = %v, want ErrNotFound", err)
	}
	n := first.requests.Load() + second.requests.Load()
	if has, err := c.Has(ctx, "c", "c", nil); err != nil || has || first.requests.Load()+second.requests.Load() != n {
		t.Fatalf("a cached not-found: Has = %v, %v, asked again: %v", has, err, first.requests.Load()+second.requests.Load() != n)
	}
	// One source down and the other without the name: not "not found".
	first.down.Store(true)
	if _, err := c.Doc(ctx, "d", "d", nil); !errors.Is(err, trove.ErrUpstream) {
		t.Fatalf("d with a source down = %v, want ErrUpstream", err)
	}
	if has, err := c.Has(ctx, "e", "e", nil); err == nil {
		t.Fatalf("Has with a source down = %v, want an error rather than a guess", has)
	}
}

func TestDocLimitsTimeoutsOffline(t *testing.T) {
	e := newEnv(t)
	up := newFake(t, map[string]string{"/big": strings.Repeat("x", 2048), "/ok": "ok"})
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}}, MaxDocBytes: 1024, Timeout: 200 * time.Millisecond})
	if _, err := c.Doc(ctx, "big", "big", nil); !errors.Is(err, trove.ErrUpstream) || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("oversized document = %v", err)
	}
	if _, err := c.Doc(ctx, "ok", "ok", nil); err != nil {
		t.Fatal(err)
	}
	up.slow.Store(true)
	if _, err := c.Doc(ctx, "slow", "slow", nil); !errors.Is(err, trove.ErrUpstreamTimeout) {
		t.Fatalf("hanging upstream = %v, want ErrUpstreamTimeout", err)
	}
	off := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}}, Offline: true})
	n := up.requests.Load()
	e.advance(24 * time.Hour)
	if d, err := off.Doc(ctx, "ok", "ok", nil); err != nil || string(d.Body) != "ok" {
		t.Fatalf("offline, cached = %+v, %v", d, err)
	}
	if _, err := off.Doc(ctx, "other", "other", nil); !errors.Is(err, trove.ErrUpstream) || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline, uncached = %v", err)
	}
	if up.requests.Load() != n {
		t.Fatal("an offline client asked its upstream")
	}
}

func TestConcurrentDocsAskOnce(t *testing.T) {
	e := newEnv(t)
	up := newFake(t, map[string]string{"/a": "a"})
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}}})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.Doc(ctx, "a", "a", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := up.requests.Load(); n > 2 { // a late caller may find the cache filled, or ask again after the first finished
		t.Fatalf("16 concurrent requests made %d upstream requests", n)
	}
	var runs atomic.Int64
	release := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			c.Once("k", func() error { runs.Add(1); <-release; return nil })
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if runs.Load() > 2 {
		t.Fatalf("Once ran %d times for 8 concurrent callers", runs.Load())
	}
}

func TestFetch(t *testing.T) {
	e := newEnv(t)
	files := newFake(t, map[string]string{"/files/a.tgz": "artifact"})
	up := newFake(t, map[string]string{"/x/-/x-1.tgz": "tarball"})
	src := upstream.Source{Name: "public", URL: up.URL, Token: "s3cret", ArtifactHosts: []string{strings.TrimPrefix(files.URL, "http://")}}
	c := e.client(upstream.Options{Sources: []upstream.Source{src}})
	st, err := c.Fetch(ctx, src, up.URL+"/x", "/x/-/x-1.tgz", 1<<20, e.reg)
	if err != nil || st.Size() != int64(len("tarball")) {
		t.Fatalf("Fetch relative = %v, %v", st, err)
	}
	st.Close()
	st, err = c.Fetch(ctx, src, up.URL+"/x", files.URL+"/files/a.tgz", 1<<20, e.reg)
	if err != nil {
		t.Fatalf("Fetch from an artifact host = %v", err)
	}
	st.Close()
	if got := files.auth.Load(); got != "" {
		t.Fatalf("the upstream's credential went to another host: %q", got)
	}
	for _, bad := range []string{"http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "http://user:pw@" + strings.TrimPrefix(up.URL, "http://") + "/x"} {
		if _, err := c.Fetch(ctx, src, up.URL+"/x", bad, 1<<20, e.reg); !errors.Is(err, trove.ErrUpstream) {
			t.Errorf("Fetch(%s) = %v, want ErrUpstream", bad, err)
		}
	}
	if _, err := c.Fetch(ctx, src, up.URL+"/x", "/x/-/x-1.tgz", 3, e.reg); !errors.Is(err, trove.ErrUpstream) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized artifact = %v", err)
	}
	if _, err := c.Fetch(ctx, src, up.URL+"/x", "/x/-/missing.tgz", 1<<20, e.reg); !errors.Is(err, trove.ErrUpstream) {
		t.Fatalf("missing artifact = %v", err)
	}
}

func TestUpstreamRequestsLimitedPerClient(t *testing.T) {
	e := newEnv(t)
	up := newFake(t, map[string]string{"/a": "a"})
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}},
		Rates: limit.NewRates(limit.Rate{N: 3, Per: time.Hour}, nil)})
	mallory := limit.WithClient(ctx, "192.0.2.1")
	for i := range 3 {
		if _, err := c.Doc(mallory, fmt.Sprint("invented-", i), fmt.Sprint("invented-", i), nil); !errors.Is(err, trove.ErrNotFound) {
			t.Fatalf("request %d = %v", i, err)
		}
	}
	_, err := c.Doc(mallory, "invented-4", "invented-4", nil)
	if !errors.Is(err, trove.ErrTooMany) || !strings.Contains(err.Error(), "does not hold yet") {
		t.Fatalf("fourth uncached request = %v, want ErrTooMany", err)
	}
	if _, err := c.Doc(mallory, "invented-0", "invented-0", nil); !errors.Is(err, trove.ErrNotFound) {
		t.Fatalf("a cached answer was limited: %v", err)
	}
	if _, err := c.Doc(limit.WithClient(ctx, "198.51.100.7"), "a", "a", nil); err != nil {
		t.Fatalf("another client was limited: %v", err)
	}
	if _, err := c.Doc(ctx, "b", "b", nil); !errors.Is(err, trove.ErrNotFound) {
		t.Fatalf("work of no client was limited: %v", err)
	}
}

func TestDocsInFlightShareAMemoryBudget(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 3<<20/2) // 1.5 MiB
	up := newFake(t, map[string]string{"/a": big, "/b": big, "/c": big})
	mem := upstream.NewMemory(2 << 20)
	c := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}}, Memory: mem, Timeout: 5 * time.Second})
	var wg sync.WaitGroup
	for _, k := range []string{"a", "b", "c"} {
		wg.Go(func() {
			if d, err := c.Doc(ctx, k, k, nil); err != nil || len(d.Body) != len(big) {
				t.Errorf("Doc(%s) = %v: documents that fit the budget one at a time must all be read", k, err)
			}
		})
	}
	wg.Wait()
	if !mem.TryAcquire(2 << 20) {
		t.Fatal("the budget was not given back")
	}
	mem.Release(2 << 20)
	// A document larger than the whole budget waits for memory it never
	// gets, and fails when its time is up. The time leaves room for the
	// request itself on a busy machine: it must fail waiting for memory,
	// not before.
	up.set("/huge", strings.Repeat("y", 3<<20))
	short := e.client(upstream.Options{Sources: []upstream.Source{{Name: "public", URL: up.URL}}, Memory: mem, Timeout: 2 * time.Second})
	if _, err := short.Doc(ctx, "huge", "huge", nil); !errors.Is(err, trove.ErrUpstream) || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("a document over the budget = %v", err)
	}
}
