package translog

import (
	"context"
	"log/slog"
	"time"
)

// Replicas
//
// Several servers may share one Store and one StateStore (replicas on one
// PostgreSQL database and one bucket), all with the log's one key. Any of
// them appends (the Store's sequencer keeps records contiguous) and any
// of them signs; two rules keep what they publish consistent:
//
//   - Signing is serialized across them (SignLocker): between reading the
//     size and keeping the checkpoint in the StateStore, which has no
//     compare-and-swap, no other replica signs, so the kept checkpoint and
//     the StateStore's copy of the records only ever grow.
//   - A replica may serve a checkpoint older than one another replica
//     served a moment ago. Clients accept an older checkpoint that is a
//     prefix of the newer one, proving it with the newer tree's tiles; a
//     replica asked for tiles, records or lookups beyond its latest
//     checkpoint catches up (CatchUp) instead of answering "not found".

// A SignLocker serializes signing across the processes sharing a Store.
// Log.Sign uses it when its Store provides it (meta.DB does).
type SignLocker interface {
	// LockSigning blocks until no other process holds the lock, or ctx
	// ends, and returns the function that releases it. A process that
	// dies releases it.
	LockSigning(ctx context.Context) (unlock func(), err error)
}

// catchUpEvery spaces the signatures CatchUp makes for requests beyond
// the latest tree, so that such requests cannot make every request sign.
const catchUpEvery = 100 * time.Millisecond

// CatchUp returns the latest signed tree, first signing the Store's
// current one (or taking the newer checkpoint another replica kept) if
// the latest covers fewer than n records. It signs at most every
// catchUpEvery; concurrent callers wait for one signature.
func (l *Log) CatchUp(ctx context.Context, n int64) *Signed {
	if s := l.Latest(); s.Tree.N >= n {
		return s
	}
	l.catchMu.Lock()
	defer l.catchMu.Unlock()
	if s := l.Latest(); s.Tree.N >= n || time.Since(l.caught) < catchUpEvery {
		return s
	}
	l.caught = time.Now()
	if _, err := l.Sign(ctx); err != nil && ctx.Err() == nil {
		slog.Warn("transparency log: catching up with another replica's checkpoint", "err", err)
	}
	return l.Latest()
}

// lockSigning takes the Store's signing lock, if it has one.
func (l *Log) lockSigning(ctx context.Context) (func(), error) {
	if sl, ok := l.store.(SignLocker); ok {
		return sl.LockSigning(ctx)
	}
	return func() {}, nil
}
