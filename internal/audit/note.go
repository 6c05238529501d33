package audit

import (
	"context"
	"sync"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// A Note is what a request acted on, as the registry saw it: the
// dispatcher puts an empty one in the request's context (WithNote) and the
// registry fills it (SetTarget) when it authorizes or records a change, so
// that entries name "npm:demo@1.0.0" rather than a path, and can be
// filtered by package. A request that touched several packages (an
// account deletion disowning them) keeps its path as the target.
//
// Besides the principal and the request ID, it is the one value the
// request context carries (docs/ARCHITECTURE.md).
type Note struct {
	mu      sync.Mutex
	target  trove.Target
	set     bool
	several bool // packages
	pinned  bool // the version: several were named
	detail  string
}

type noteKey struct{}

// WithNote returns a context carrying an empty note.
func WithNote(ctx context.Context) context.Context {
	return context.WithValue(ctx, noteKey{}, &Note{})
}

// SetTarget notes that the request acts on t (name folded as the
// registry keys it). Without a note in ctx, it does nothing.
func SetTarget(ctx context.Context, t trove.Target) {
	n, _ := ctx.Value(noteKey{}).(*Note)
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.several:
	case !n.set:
		n.target, n.set = t, true
	case n.target.Ecosystem != t.Ecosystem || n.target.Name != t.Name:
		n.several = true
	case t.Version == "" || n.pinned:
	case n.target.Version == "":
		n.target.Version = t.Version
	case n.target.Version != t.Version:
		n.target.Version, n.pinned = "", true
	}
}

// SetDetail notes what the entry should say beyond its action and target:
// an administrator's reason for a decision. Without a note in ctx, it
// does nothing; the last detail set wins.
func SetDetail(ctx context.Context, detail string) {
	n, _ := ctx.Value(noteKey{}).(*Note)
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.detail = detail
}

// detailOf returns the detail noted in ctx, or "".
func detailOf(ctx context.Context) string {
	n, _ := ctx.Value(noteKey{}).(*Note)
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.detail
}

// noteOf returns the target noted in ctx, if exactly one package was.
func noteOf(ctx context.Context) (trove.Target, bool) {
	n, _ := ctx.Value(noteKey{}).(*Note)
	if n == nil {
		return trove.Target{}, false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.target, n.set && !n.several
}

// redactPath removes anything shaped like a token from a path (npm's
// logout puts the token in the URL).
func redactPath(p string) string { return access.Redact(p) }
