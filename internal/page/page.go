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
//   - Concurrent misses of one page render it once (singleflight).
//   - The cache is bounded by the total size of bodies it holds; the least
//     recently used pages go first.
package page

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
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
}

// New returns a page for body with its ETag and, for bodies large enough
// to gain from it, a gzip copy.
func New(body []byte, contentType string) *Page {
	sum := sha256.Sum256(body)
	p := &Page{Body: body, ContentType: contentType, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	if len(body) >= 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body) {
			p.Gzip = b.Bytes()
		}
	}
	return p
}

func (p *Page) size() int { return len(p.Body) + len(p.Gzip) + 256 }

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
	body := p.Body
	if p.Gzip != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = p.Gzip
		h.Set("Content-Encoding", "gzip")
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
	elem *list.Element
}

// A Cache holds rendered pages. It is safe for concurrent use.
type Cache struct {
	max int // bytes

	mu    sync.Mutex
	pages map[Key]*entry
	lru   *list.List // front: most recently used
	size  int
	// Generations: every Invalidate takes the next counter value and
	// stamps the package with it. A fill may store its page only if the
	// package's stamp did not move while it rendered. floor stands in for
	// stamps dropped when gens grows too large.
	counter uint64
	floor   uint64
	gens    map[groupKey]uint64
	sf      singleflight.Group
}

// NewCache returns a cache holding at most maxBytes of pages.
func NewCache(maxBytes int) *Cache {
	return &Cache{max: maxBytes, pages: make(map[Key]*entry), lru: list.New(), gens: make(map[groupKey]uint64)}
}

// Get returns the cached page for k, or renders, caches and returns it.
// Errors from render are returned and not cached.
func (c *Cache) Get(k Key, render func() (*Page, error)) (*Page, error) {
	c.mu.Lock()
	if e, ok := c.pages[k]; ok {
		c.lru.MoveToFront(e.elem)
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
		p, err := render()
		if err != nil {
			return nil, err
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
	if p.size() > c.max {
		return
	}
	e := &entry{key: k, page: p}
	e.elem = c.lru.PushFront(e)
	c.pages[k] = e
	c.size += p.size()
	for c.size > c.max {
		c.removeLocked(c.lru.Back().Value.(*entry))
	}
}

func (c *Cache) removeLocked(e *entry) {
	c.lru.Remove(e.elem)
	delete(c.pages, e.key)
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

// Len returns the number of cached pages and their total size in bytes.
func (c *Cache) Len() (pages, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pages), c.size
}
