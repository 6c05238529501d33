package page

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestServe(t *testing.T) {
	body := []byte(strings.Repeat(`{"name":"demo"}`, 100))
	p := New(body, "application/json")
	p.Vary = "Accept"
	get := func(hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/demo", nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		Serve(w, r, p)
		return w
	}
	w := get(nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("ETag") != p.ETag || w.Header().Get("Vary") != "Accept, Accept-Encoding" {
		t.Errorf("plain GET: %d %q %v", w.Code, w.Header().Get("ETag"), w.Header())
	}
	w = get(map[string]string{"Accept-Encoding": "gzip, deflate"})
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not used: %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, body) {
		t.Errorf("gzip body decodes to something else")
	}
	if w := get(map[string]string{"Accept-Encoding": "gzip;q=0"}); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got gzip")
	}
	for _, inm := range []string{p.ETag, `"other", ` + p.ETag, "W/" + p.ETag, "*"} {
		if w := get(map[string]string{"If-None-Match": inm}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304", inm, w.Code, w.Body.Len())
		}
	}
	if w := get(map[string]string{"If-None-Match": `"other"`}); w.Code != 200 {
		t.Errorf("If-None-Match other: %d, want 200", w.Code)
	}
	if small := New([]byte("{}"), "application/json"); small.Gzip != nil {
		t.Errorf("tiny page was compressed")
	}
	if New([]byte("a"), "x").ETag == New([]byte("b"), "x").ETag {
		t.Errorf("different bodies share an ETag")
	}
}

func TestCacheGetAndInvalidate(t *testing.T) {
	c := NewCache(1 << 20)
	var renders atomic.Int32
	render := func(s string) func() (*Page, error) {
		return func() (*Page, error) { renders.Add(1); return New([]byte(s), "text/plain"), nil }
	}
	k := Key{Group: "npm", Name: "demo", Variant: "full"}
	p1, _ := c.Get(k, render("v1"))
	p2, _ := c.Get(k, render("v2"))
	if string(p2.Body) != "v1" || renders.Load() != 1 {
		t.Errorf("second Get rendered again (%d renders) or changed the page", renders.Load())
	}
	index := Key{Group: "npm", Variant: "index"}
	c.Get(index, render("index v1"))
	other := Key{Group: "npm", Name: "other", Variant: "full"}
	c.Get(other, render("other v1"))
	c.Invalidate("npm", "demo")
	if p, _ := c.Get(k, render("v2")); string(p.Body) != "v2" {
		t.Errorf("after Invalidate got %q, want v2", p.Body)
	}
	if p, _ := c.Get(index, render("index v2")); string(p.Body) != "index v2" {
		t.Errorf("Invalidate did not drop the package-less index page")
	}
	if p, _ := c.Get(other, render("other v2")); string(p.Body) != "other v1" {
		t.Errorf("Invalidate dropped another package's page")
	}
	_ = p1
	if _, err := c.Get(Key{Group: "npm", Name: "err"}, func() (*Page, error) { return nil, errors.New("boom") }); err == nil {
		t.Errorf("render error not returned")
	}
	if n, _ := c.Len(); n != 3 {
		t.Errorf("Len = %d pages, want 3 (the error was not cached)", n)
	}
}

// A render racing with an invalidation must not leave its stale page behind.
func TestCacheDropsFillRacingInvalidate(t *testing.T) {
	c := NewCache(1 << 20)
	k := Key{Group: "pypi", Name: "demo", Variant: "html"}
	p, _ := c.Get(k, func() (*Page, error) {
		c.Invalidate("pypi", "demo") // the package changed while we rendered
		return New([]byte("stale"), "text/html"), nil
	})
	if string(p.Body) != "stale" {
		t.Fatalf("the racing caller gets what it rendered")
	}
	got, _ := c.Get(k, func() (*Page, error) { return New([]byte("fresh"), "text/html"), nil })
	if string(got.Body) != "fresh" {
		t.Errorf("stale page was cached: got %q", got.Body)
	}
}

func TestCacheBoundedLRU(t *testing.T) {
	page := func() (*Page, error) { return New(make([]byte, 1000), "x"), nil }
	c := NewCache(5 * 1300)
	for i := 0; i < 20; i++ {
		c.Get(Key{Group: "npm", Name: string(rune('a' + i))}, page)
		c.Get(Key{Group: "npm", Name: "a"}, page) // keep "a" recently used
	}
	n, size := c.Len()
	if size > 5*1300 || n > 5 {
		t.Errorf("cache holds %d pages, %d bytes; bound is 6500 bytes", n, size)
	}
	var rendered bool
	c.Get(Key{Group: "npm", Name: "a"}, func() (*Page, error) { rendered = true; return New(nil, "x"), nil })
	if rendered {
		t.Errorf("the most recently used page was evicted")
	}
	huge := NewCache(100)
	huge.Get(Key{Name: "big"}, page)
	if n, _ := huge.Len(); n != 0 {
		t.Errorf("a page larger than the cache was stored")
	}
}

func TestCacheSingleflight(t *testing.T) {
	c := NewCache(1 << 20)
	var renders atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Get(Key{Group: "npm", Name: "hot"}, func() (*Page, error) {
				renders.Add(1)
				<-release
				return New([]byte("x"), "x"), nil
			})
		}()
	}
	for renders.Load() == 0 {
		// wait until one render started, then let the others queue on it
	}
	close(release)
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("%d concurrent renders of one page, want them collapsed", n)
	}
}

// InvalidateGroup drops every page of one group, and fills racing with it.
func TestCacheInvalidateGroup(t *testing.T) {
	c := NewCache(1 << 20)
	page := func(s string) func() (*Page, error) {
		return func() (*Page, error) { return New([]byte(s), "text/plain"), nil }
	}
	a, b, other := Key{Group: "pypi", Name: "a"}, Key{Group: "pypi", Name: "b"}, Key{Group: "npm", Name: "a"}
	c.Get(a, page("a1"))
	c.Get(b, page("b1"))
	c.Get(other, page("npm1"))
	c.InvalidateGroup("pypi")
	if p, _ := c.Get(a, page("a2")); string(p.Body) != "a2" {
		t.Errorf("page a survived InvalidateGroup: %q", p.Body)
	}
	if p, _ := c.Get(b, page("b2")); string(p.Body) != "b2" {
		t.Errorf("page b survived InvalidateGroup: %q", p.Body)
	}
	if p, _ := c.Get(other, page("npm2")); string(p.Body) != "npm1" {
		t.Errorf("InvalidateGroup dropped another group's page")
	}
	k := Key{Group: "pypi", Name: "c"}
	c.Get(k, func() (*Page, error) { c.InvalidateGroup("pypi"); return New([]byte("stale"), "text/plain"), nil })
	if p, _ := c.Get(k, page("fresh")); string(p.Body) != "fresh" {
		t.Errorf("a fill racing with InvalidateGroup was stored: %q", p.Body)
	}
}
