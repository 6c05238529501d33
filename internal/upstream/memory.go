package upstream

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"golang.org/x/sync/semaphore"
)

// docChunk is the step in which a document being read grows its share of
// the memory budget (Options.Memory).
const docChunk = 1 << 20

// NewMemory returns a budget of n bytes for the documents being read from
// upstreams at once, for Options.Memory.
func NewMemory(n int64) *semaphore.Weighted { return semaphore.NewWeighted(n) }

// A share is the part of the memory budget one document being read holds.
type share struct {
	mem  *semaphore.Weighted
	held int64
}

// grow makes the share n bytes. It gives back what it holds before it
// waits, so that readers waiting for more never hold memory others wait
// for (no deadlock); the budget's waiters are served in order.
func (s *share) grow(ctx context.Context, n int64) error {
	if s.mem == nil || n <= s.held {
		return nil
	}
	if s.mem.TryAcquire(n - s.held) {
		s.held = n
		return nil
	}
	s.release()
	if err := s.mem.Acquire(ctx, n); err != nil {
		return fmt.Errorf("waited too long for memory to read the document (other documents being fetched hold upstream.fetch_memory): %w", err)
	}
	s.held = n
	return nil
}

func (s *share) release() {
	if s.mem != nil && s.held > 0 {
		s.mem.Release(s.held)
	}
	s.held = 0
}

// readDoc reads a document whole, failing once it passes MaxDocBytes.
// With a memory budget, the document holds a share of it while it is read:
// its declared length (a hint, never trusted beyond MaxDocBytes), grown a
// chunk at a time as the bytes arrive. A read that cannot get its share
// before ctx ends fails (the caller serves the cached copy, if any).
func (c *Client) readDoc(ctx context.Context, r io.Reader, declared int64) ([]byte, error) {
	max := c.o.MaxDocBytes
	s := &share{mem: c.o.Memory}
	defer s.release()
	if declared > 0 {
		if err := s.grow(ctx, min(declared, max)+1); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	for {
		want := min(int64(docChunk), max+1-int64(buf.Len()))
		if err := s.grow(ctx, int64(buf.Len())+want); err != nil {
			return nil, err
		}
		_, err := io.CopyN(&buf, r, want)
		switch {
		case int64(buf.Len()) > max:
			return nil, fmt.Errorf("sent a document over the limit of %d bytes", max)
		case err == io.EOF:
			return buf.Bytes(), nil
		case err != nil:
			return nil, err
		}
	}
}
