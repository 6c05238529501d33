// Package page caches rendered metadata documents (npm packuments, PyPI
// simple pages and JSON) and serves them.
//
// A Page is rendered once per change of its package: its body, a gzip copy
// and a strong ETag are computed at render time, so serving a cached page
// does no SQL, no JSON encoding and no compression. Pages are grouped by
// package; Invalidate drops every page of a package when it changes.
//
// # Invariants
//
//   - A page rendered from state older than the latest Invalidate of its
//     package is never stored: each package has a generation, and a fill
//     that raced with an invalidation is served once but not kept.
//   - Concurrent misses of one page render it once (singleflight), and at
//     most max(2, GOMAXPROCS) pages render at once, which bounds the
//     memory and CPU a burst of misses on many packages can take.
//   - The cache is bounded by the total size of bodies it holds; the least
//     recently used pages go first.
//   - A page larger than the entry limit (PageMax) is not kept in memory.
//     With a directory (see [Open]) it is kept on disk instead, in a second
//     tier bounded by its own size (DiskBytes) and invalidated like the
//     first, so that even a document of many megabytes is rendered once per
//     change of its package and then served from the file.
//
// # Disk tier
//
// A spilled page is one file holding the body and then its gzip copy. The
// file is unlinked as soon as it is written and kept open: it has no name
// a later process could trip over, a page dropped from the cache stays
// readable for requests already serving it, and its space is freed when
// the last of them is done and the *os.File is collected. Space of
// dropped pages can therefore outlive DiskBytes until the next garbage
// collection.
package page

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// A Page is a rendered document.
type Page struct {
	Body        []byte
	Gzip        []byte // nil when compression would not help
	ETag        string // strong, quoted
	ContentType string
	// CacheControl is sent as is; "" sends "no-cache" (always revalidate,
	// which is cheap with the ETag).
	CacheControl string
	// Vary lists the request headers the page was chosen by, besides
	// Accept-Encoding, which is always added.
	Vary         string
	LastModified time.Time

	// file holds Body and then Gzip for a page in the disk tier, whose
	// Body and Gzip are then nil.
	file             *os.File
	bodyLen, gzipLen int64
}

// largeBody is the size from which bodies are compressed with gzip's
// default level rather than its best: a body of many megabytes at the
// best level takes seconds of CPU.
const largeBody = 1 << 20

// New returns a page for body with its ETag and, for bodies large enough
// to gain from it, a gzip copy.
func New(body []byte, contentType string) *Page {
	sum := sha256.Sum256(body)
	p := &Page{Body: body, ContentType: contentType, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	if len(body) >= 512 {
		var b bytes.Buffer
		level := gzip.BestCompression
		if len(body) >= largeBody {
			level = gzip.DefaultCompression
		}
		zw, _ := gzip.NewWriterLevel(&b, level)
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body) {
			p.Gzip = b.Bytes()
		}
	}
	return p
}

func (p *Page) size() int64 { return int64(len(p.Body)+len(p.Gzip)) + p.bodyLen + p.gzipLen + 256 }

// Bytes returns the page's body, read from disk for a page in the disk tier.
func (p *Page) Bytes() ([]byte, error) {
	if p.file == nil {
		return p.Body, nil
	}
	b := make([]byte, p.bodyLen)
	if _, err := p.file.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("reading a cached page: %w", err)
	}
	return b, nil
}

// Serve writes the page, answering If-None-Match with 304 and sending the
// gzip copy to clients that accept it. HEAD gets the headers only.
func Serve(w http.ResponseWriter, r *http.Request, p *Page) {
	h := w.Header()
	h.Set("Content-Type", p.ContentType)
	h.Set("ETag", p.ETag)
	vary := "Accept-Encoding"
	if p.Vary != "" {
		vary = p.Vary + ", " + vary
	}
	h.Set("Vary", vary)
	if p.CacheControl != "" {
		h.Set("Cache-Control", p.CacheControl)
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if !p.LastModified.IsZero() {
		h.Set("Last-Modified", p.LastModified.UTC().Format(http.TimeFormat))
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, p.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	gz := (p.Gzip != nil || p.gzipLen > 0) && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	if p.file != nil {
		off, n := int64(0), p.bodyLen
		if gz {
			off, n = p.bodyLen, p.gzipLen
		}
		h.Set("Content-Length", strconv.FormatInt(n, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, io.NewSectionReader(p.file, off, n))
		}
		return
	}
	body := p.Body
	if gz {
		body = p.Gzip
	}
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch implements the weak comparison If-None-Match asks for.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// A Key names a cached page: a package and a variant of its document
// (for example "full" and "abbreviated", or "html" and "json").
type Key struct {
	Group   string // the ecosystem
	Name    string // the normalized package name; "" for pages about no one package
	Variant string
}

type groupKey struct{ group, name string }

type entry struct {
	key  Key
	page *Page
	elem *list.Element // in lru, or in dlru for a page on disk
}

// Options configure a Cache.
type Options struct {
	// MaxBytes bounds the pages kept in memory.
	MaxBytes int64
	// PageMax bounds one page kept in memory; 0 means MaxBytes.
	PageMax int64
	// Dir, if set, holds the pages larger than PageMax, up to DiskBytes.
	Dir       string
	DiskBytes int64
}

// A Cache holds rendered pages. It is safe for concurrent use.
type Cache struct {
	max, pageMax int64
	dir          string
	diskMax      int64

	mu    sync.Mutex
	pages map[Key]*entry
	lru   *list.List // front: most recently used
	size  int64
	dlru  *list.List // the disk tier's pages
	dsize int64
	// Generations: every Invalidate takes the next counter value and
	// stamps the package with it. A fill may store its page only if the
	// package's stamp did not move while it rendered. floor stands in for
	// stamps dropped when gens grows too large.
	counter uint64
	floor   uint64
	gens    map[groupKey]uint64
	sf      singleflight.Group

	renders   atomic.Int64
	rendering chan struct{} // slots of concurrent renders
}

// Renders returns how many pages the cache has rendered.
func (c *Cache) Renders() int64 { return c.renders.Load() }

// NewCache returns a cache holding at most maxBytes of pages in memory,
// and no page larger than that.
func NewCache(maxBytes int) *Cache {
	return newCache(Options{MaxBytes: int64(maxBytes)})
}

func newCache(o Options) *Cache {
	if o.PageMax <= 0 || o.PageMax > o.MaxBytes {
		o.PageMax = o.MaxBytes
	}
	return &Cache{max: o.MaxBytes, pageMax: o.PageMax, dir: o.Dir, diskMax: o.DiskBytes,
		pages: make(map[Key]*entry), lru: list.New(), dlru: list.New(), gens: make(map[groupKey]uint64),
		rendering: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// Open returns a cache with the options' tiers, creating the disk tier's
// directory and removing what an earlier process left in it.
func Open(o Options) (*Cache, error) {
	if o.Dir == "" || o.DiskBytes <= 0 {
		o.Dir = ""
		return newCache(o), nil
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the page directory: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(o.Dir, "page-*"))
	if err != nil {
		return nil, err
	}
	for _, f := range old {
		os.Remove(f)
	}
	return newCache(o), nil
}

// spill moves a page too large for memory to a file of the disk tier.
func (c *Cache) spill(p *Page) (*Page, error) {
	f, err := os.CreateTemp(c.dir, "page-")
	if err != nil {
		return nil, fmt.Errorf("spilling a page to disk: %w", err)
	}
	os.Remove(f.Name()) // see "Disk tier" above
	if _, err := f.Write(p.Body); err == nil {
		_, err = f.Write(p.Gzip)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spilling a page to disk: %w", err)
	}
	dp := *p
	dp.Body, dp.Gzip = nil, nil
	dp.file, dp.bodyLen, dp.gzipLen = f, int64(len(p.Body)), int64(len(p.Gzip))
	return &dp, nil
}

// Get returns the cached page for k, or renders, caches and returns it.
// Errors from render are returned and not cached.
func (c *Cache) Get(k Key, render func() (*Page, error)) (*Page, error) {
	c.mu.Lock()
	if e, ok := c.pages[k]; ok {
		if e.page.file != nil {
			c.dlru.MoveToFront(e.elem)
		} else {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		return e.page, nil
	}
	gen := c.genLocked(k)
	c.mu.Unlock()

	v, err, _ := c.sf.Do(sfKey(k), func() (any, error) {
		// A render of k may have finished and stored its page between the
		// lookup above and this call: use it rather than render again.
		c.mu.Lock()
		if e, ok := c.pages[k]; ok {
			c.mu.Unlock()
			return e.page, nil
		}
		c.mu.Unlock()
		c.rendering <- struct{}{}
		c.renders.Add(1)
		p, err := render()
		<-c.rendering
		if err != nil {
			return nil, err
		}
		if c.dir != "" && p.file == nil && p.size() > c.pageMax && p.size() <= c.diskMax {
			if dp, err := c.spill(p); err == nil {
				p = dp
			} else {
				slog.Warn("page cache: serving a large page without keeping it", "err", err)
			}
		}
		c.mu.Lock()
		if c.genLocked(k) == gen {
			c.storeLocked(k, p)
		}
		c.mu.Unlock()
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Page), nil
}

func sfKey(k Key) string { return k.Group + "\x00" + k.Name + "\x00" + k.Variant }

func (c *Cache) genLocked(k Key) uint64 {
	return max(c.gens[groupKey{k.Group, k.Name}], c.floor)
}

func (c *Cache) storeLocked(k Key, p *Page) {
	if old, ok := c.pages[k]; ok {
		c.removeLocked(old)
	}
	e := &entry{key: k, page: p}
	if p.file != nil {
		if p.size() > c.diskMax {
			return
		}
		e.elem = c.dlru.PushFront(e)
		c.pages[k] = e
		c.dsize += p.size()
		for c.dsize > c.diskMax {
			c.removeLocked(c.dlru.Back().Value.(*entry))
		}
		return
	}
	if p.size() > c.pageMax {
		return
	}
	e.elem = c.lru.PushFront(e)
	c.pages[k] = e
	c.size += p.size()
	for c.size > c.max {
		c.removeLocked(c.lru.Back().Value.(*entry))
	}
}

// removeLocked drops a page. A page on disk keeps its file open for the
// requests serving it; the file closes when it is collected.
func (c *Cache) removeLocked(e *entry) {
	delete(c.pages, e.key)
	if e.page.file != nil {
		c.dlru.Remove(e.elem)
		c.dsize -= e.page.size()
		return
	}
	c.lru.Remove(e.elem)
	c.size -= e.page.size()
}

// Invalidate drops every page of the package (group, name), and every page
// about no one package (name ""), such as indexes listing all packages.
func (c *Cache) Invalidate(group, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	c.gens[groupKey{group, name}] = c.counter
	c.gens[groupKey{group, ""}] = c.counter
	for k, e := range c.pages {
		if k.Group == group && (k.Name == name || k.Name == "") {
			c.removeLocked(e)
		}
	}
	if len(c.gens) > 1_000_000 {
		clear(c.gens)
		c.floor = c.counter
	}
}

// InvalidateGroup drops every page of the group (an ecosystem), and keeps
// fills under way anywhere from being stored: for a change that may touch
// any package (a curation policy of a pattern such as "*").
func (c *Cache) InvalidateGroup(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	c.floor = c.counter
	for k, e := range c.pages {
		if k.Group == group {
			c.removeLocked(e)
		}
	}
}

// Len returns the number of cached pages and their total size in bytes,
// in memory and on disk.
func (c *Cache) Len() (pages int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pages), c.size + c.dsize
}
