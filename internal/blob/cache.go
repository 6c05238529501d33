package blob

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
)

// A Cache is a Store that keeps small blobs in memory, bounded by total
// size, least recently used first out. Blobs are immutable and addressed
// by their digest, so a cached copy never goes stale: only Delete drops
// one. It saves the open, seek and close system calls of the file store
// on the hot download path, where those calls cost more than the copy.
//
// Every blob is checked against its digest as it enters the cache: bytes
// that do not match are never served, and the blob is taken out of
// service in the underlying store if it is a Quarantiner. Blobs larger
// than the per-blob limit are never cached and are read from the
// underlying store as they are.
type Cache struct {
	Store
	maxBytes int64
	maxBlob  int64

	mu    sync.Mutex
	items map[Digest]*list.Element
	lru   *list.List // of *cached, front = most recently used
	size  int64
}

type cached struct {
	d Digest
	b []byte
}

// NewCache returns a cache over s holding at most maxBytes of blobs, each
// at most maxBlob bytes.
func NewCache(s Store, maxBytes, maxBlob int64) *Cache {
	return &Cache{Store: s, maxBytes: maxBytes, maxBlob: maxBlob, items: make(map[Digest]*list.Element), lru: list.New()}
}

// Open returns the blob's bytes from off, from memory when it is cached or
// small enough to be. Readers of cached blobs are io.ReadSeekers.
func (c *Cache) Open(ctx context.Context, d Digest, off int64) (io.ReadCloser, error) {
	if b, ok := c.get(d); ok {
		return reader(b, off)
	}
	n, err := c.Store.Stat(ctx, d)
	if err != nil {
		return nil, err
	}
	if n > c.maxBlob || n > c.maxBytes {
		return c.Store.Open(ctx, d, off)
	}
	rc, err := c.Store.Open(ctx, d, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, err
	}
	if err := Verify(bytes.NewReader(b), d); err != nil {
		if qerr := c.Quarantine(ctx, d); qerr != nil {
			return nil, errors.Join(err, qerr)
		}
		slog.Error("a stored blob is damaged; it was taken out of service", "digest", string(d), "err", err)
		return nil, err
	}
	c.put(d, b)
	return reader(b, off)
}

// Quarantine drops the blob from the cache and quarantines it in the
// underlying store, if that is a Quarantiner.
func (c *Cache) Quarantine(ctx context.Context, d Digest) error {
	c.mu.Lock()
	if e, ok := c.items[d]; ok {
		c.removeLocked(e)
	}
	c.mu.Unlock()
	if q, ok := c.Store.(Quarantiner); ok {
		return q.Quarantine(ctx, d)
	}
	return nil
}

// PresignGet passes the call on to the underlying store, so that the
// cache does not hide a Presigner: redirected downloads never come from
// memory.
func (c *Cache) PresignGet(ctx context.Context, d Digest, o PresignOptions) (string, error) {
	return PresignGet(ctx, c.Store, d, o)
}

// Delete removes the blob from the cache and the store.
func (c *Cache) Delete(ctx context.Context, d Digest) error {
	c.mu.Lock()
	if e, ok := c.items[d]; ok {
		c.removeLocked(e)
	}
	c.mu.Unlock()
	return c.Store.Delete(ctx, d)
}

// Len returns the number of cached blobs and their total size.
func (c *Cache) Len() (blobs int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.size
}

func (c *Cache) get(d Digest) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[d]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cached).b, true
}

func (c *Cache) put(d Digest, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[d]; ok {
		return
	}
	c.items[d] = c.lru.PushFront(&cached{d: d, b: b})
	c.size += int64(len(b))
	for c.size > c.maxBytes {
		c.removeLocked(c.lru.Back())
	}
}

func (c *Cache) removeLocked(e *list.Element) {
	it := c.lru.Remove(e).(*cached)
	delete(c.items, it.d)
	c.size -= int64(len(it.b))
}

func reader(b []byte, off int64) (io.ReadCloser, error) {
	if off < 0 || off > int64(len(b)) {
		return nil, io.ErrUnexpectedEOF
	}
	r := bytes.NewReader(b)
	r.Seek(off, io.SeekStart)
	return nopCloser{r}, nil
}

// nopCloser keeps the reader's Seek visible to http.ServeContent.
type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
