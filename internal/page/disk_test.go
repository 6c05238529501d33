package page

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLargePagesRenderedOnce: a page larger than the entry limit is kept
// in the disk tier: rendered once, served from the file (plain and gzip,
// whole and HEAD), rendered again only after its package changes.
func TestLargePagesRenderedOnce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/page-stale", []byte("left by a crash"), 0o600)
	c, err := Open(Options{MaxBytes: 64 << 10, PageMax: 4 << 10, Dir: dir, DiskBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/page-stale"); err == nil {
		t.Errorf("Open left an earlier process's file")
	}
	body := bytes.Repeat([]byte(`{"version":"1.0.0","big":"xxxxxxxxxxxxxxxx"},`), 2000) // 92 KB: over MaxBytes too
	var renders atomic.Int32
	k := Key{Group: "npm", Name: "huge", Variant: "full"}
	get := func() *Page {
		p, err := c.Get(k, func() (*Page, error) {
			renders.Add(1)
			return New(body, "application/json"), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
	p := get()
	if n := renders.Load(); n != 1 {
		t.Errorf("11 requests of a large page rendered it %d times, want 1", n)
	}
	if p.Body != nil || p.file == nil {
		t.Errorf("the large page is held in memory")
	}
	w := httptest.NewRecorder()
	Serve(w, httptest.NewRequest("GET", "/huge", nil), p)
	if !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("served %d bytes (Content-Length %s), want the %d-byte body", w.Body.Len(), w.Header().Get("Content-Length"), len(body))
	}
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/huge", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	Serve(w, r, p)
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, body) || w.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("the gzip copy from disk does not decompress to the body")
	}
	w = httptest.NewRecorder()
	Serve(w, httptest.NewRequest("HEAD", "/huge", nil), p)
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("HEAD: %d bytes, Content-Length %s", w.Body.Len(), w.Header().Get("Content-Length"))
	}
	if b, err := p.Bytes(); err != nil || !bytes.Equal(b, body) {
		t.Errorf("Bytes() = %d bytes, %v", len(b), err)
	}
	c.Invalidate("npm", "huge")
	get()
	if n := renders.Load(); n != 2 {
		t.Errorf("after Invalidate: %d renders, want 2", n)
	}
	// A page dropped while being served stays readable.
	w = httptest.NewRecorder()
	Serve(w, httptest.NewRequest("GET", "/huge", nil), p)
	if !bytes.Equal(w.Body.Bytes(), body) {
		t.Errorf("a dropped page served %d bytes", w.Body.Len())
	}
}

// TestDiskTierBounded: the disk tier keeps at most DiskBytes, least
// recently used out; pages larger than it are served but not kept.
func TestDiskTierBounded(t *testing.T) {
	c, err := Open(Options{MaxBytes: 1 << 10, Dir: t.TempDir(), DiskBytes: 25 << 10})
	if err != nil {
		t.Fatal(err)
	}
	renders := map[string]int{}
	get := func(name string, size int) {
		c.Get(Key{Group: "npm", Name: name}, func() (*Page, error) {
			renders[name]++
			return New(bytes.Repeat([]byte{'a' + byte(len(name))}, size), "text/plain"), nil
		})
	}
	for _, n := range []string{"a", "bb", "ccc", "a", "bb"} { // 10 KB each: two fit
		get(n, 10<<10)
	}
	if renders["a"] != 2 || renders["bb"] != 2 || renders["ccc"] != 1 {
		t.Errorf("renders = %v; want a and bb evicted once each by the 25 KB bound", renders)
	}
	if _, size := c.Len(); size > 25<<10 {
		t.Errorf("disk tier holds %d bytes, over its bound", size)
	}
	get("huge", 30<<10)
	get("huge", 30<<10)
	if renders["huge"] != 2 {
		t.Errorf("a page over DiskBytes was kept")
	}
}
