package limit

import (
	"context"
	"time"
)

// Slots bound how many of one kind of expensive work (hashing a password,
// which takes memory) run at once. A caller that finds every slot taken
// waits a little, then gives up: under a flood, excess requests are
// refused quickly instead of queueing without bound.
type Slots struct {
	c    chan struct{}
	wait time.Duration
}

// NewSlots returns n slots (at least 1) whose callers wait at most wait
// for one to free up.
func NewSlots(n int, wait time.Duration) *Slots {
	return &Slots{c: make(chan struct{}, max(n, 1)), wait: wait}
}

// Acquire takes a slot and returns the function that gives it back. It
// reports false, holding nothing, if no slot freed up within the wait or
// ctx ended first.
func (s *Slots) Acquire(ctx context.Context) (release func(), ok bool) {
	select {
	case s.c <- struct{}{}:
		return s.release, true
	default:
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.c <- struct{}{}:
		return s.release, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

func (s *Slots) release() { <-s.c }

// Cap returns the number of slots.
func (s *Slots) Cap() int { return cap(s.c) }

// InUse returns the number of slots taken now.
func (s *Slots) InUse() int { return len(s.c) }
