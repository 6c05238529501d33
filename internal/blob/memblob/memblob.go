// Package memblob is an in-memory blob.Store for tests.
package memblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/trove-dev/trove/internal/blob"
)

// Store keeps blobs in a map. The zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	blobs   map[blob.Digest][]byte
	damaged map[blob.Digest]bool
	state   map[string][]byte
}

// New returns an empty Store.
func New() *Store {
	return &Store{blobs: make(map[blob.Digest][]byte), damaged: make(map[blob.Digest]bool), state: make(map[string][]byte)}
}

// Create starts a blob buffered in memory.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	return &writer{s: s}, nil
}

// Open returns a reader over the blob's bytes from off. The reader also
// implements io.ReadSeeker.
func (s *Store) Open(ctx context.Context, d blob.Digest, off int64) (io.ReadCloser, error) {
	s.mu.RLock()
	b, ok := s.blobs[d]
	damaged := s.damaged[d]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("opening blob %s: %w", d, missing(damaged))
	}
	if off < 0 || off > int64(len(b)) {
		return nil, fmt.Errorf("opening blob %s at %d: offset out of range", d, off)
	}
	r := bytes.NewReader(b)
	r.Seek(off, io.SeekStart)
	return readSeekNopCloser{r}, nil
}

// Stat returns the blob's size.
func (s *Store) Stat(ctx context.Context, d blob.Digest) (int64, error) {
	s.mu.RLock()
	b, ok := s.blobs[d]
	damaged := s.damaged[d]
	s.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("stat blob %s: %w", d, missing(damaged))
	}
	return int64(len(b)), nil
}

// Delete removes the blob.
func (s *Store) Delete(ctx context.Context, d blob.Digest) error {
	s.mu.Lock()
	delete(s.blobs, d)
	s.mu.Unlock()
	return nil
}

func missing(damaged bool) error {
	if damaged {
		return blob.ErrDamaged
	}
	return blob.ErrNotFound
}

// Quarantine takes the blob out of service (blob.Quarantiner).
func (s *Store) Quarantine(ctx context.Context, d blob.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[d]; ok {
		delete(s.blobs, d)
		s.damaged[d] = true
	}
	return nil
}

// Damage replaces the bytes of a stored blob without checking them, as
// disk corruption would, for tests of what notices.
func (s *Store) Damage(d blob.Digest, b []byte) {
	s.mu.Lock()
	s.blobs[d] = bytes.Clone(b)
	s.mu.Unlock()
}

// Len returns the number of committed blobs.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.blobs)
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

type writer struct {
	s    *Store
	buf  bytes.Buffer
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("write to finished blob writer")
	}
	return w.buf.Write(p)
}

func (w *writer) Commit(ctx context.Context, want blob.Digest) error {
	if w.done {
		return errors.New("commit of finished blob writer")
	}
	w.done = true
	sum := sha256.Sum256(w.buf.Bytes())
	if got := blob.Digest(hex.EncodeToString(sum[:])); got != want {
		return fmt.Errorf("committing blob: got %s, want %s: %w", got, want, blob.ErrDigestMismatch)
	}
	w.s.mu.Lock()
	w.s.blobs[want] = bytes.Clone(w.buf.Bytes())
	delete(w.s.damaged, want)
	w.s.mu.Unlock()
	return nil
}

func (w *writer) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

// ReadState returns a copy of the state object's bytes.
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	if err := blob.CheckStateName(name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	b, ok := s.state[name]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("reading state %s: %w", name, blob.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// WriteState replaces the state object.
func (s *Store) WriteState(ctx context.Context, name string, data []byte) error {
	if err := blob.CheckStateName(name); err != nil {
		return err
	}
	if len(data) > blob.MaxStateBytes {
		return fmt.Errorf("writing state %s: %d bytes is over the limit of %d", name, len(data), blob.MaxStateBytes)
	}
	s.mu.Lock()
	s.state[name] = bytes.Clone(data)
	s.mu.Unlock()
	return nil
}
