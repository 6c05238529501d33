// Package trove is Trove's vocabulary: the identifiers, values and error
// categories that every layer talks about — ecosystems, package names,
// release states, targets, and the package, release, file, tag and user
// values that the core reads and the adapters render. It plays the part
// that module plays in golang.org/x/mod: a leaf that imports nothing of
// Trove's, so that storage (meta), the core (registry), the protocol
// adapters and the command line share one set of words without importing
// one another.
//
// # Error categories
//
// Errors that reach a client wrap one of the Err variables (or one of
// access's), and server.status turns the category into an HTTP status.
// [Error] makes an error of a category with a message meant for the person
// at the client.
package trove

import (
	"errors"
	"fmt"
)

// An Ecosystem is a package ecosystem Trove serves. Which ecosystems exist
// is known to the ecosystems' rules (registry.Rules), not listed here.
type Ecosystem string

// The ecosystems Trove serves today. The constants are names only; code
// that needs to list the ecosystems asks the rules it was given.
const (
	NPM  Ecosystem = "npm"
	PyPI Ecosystem = "pypi"
	Go   Ecosystem = "go"
)

// A Name is a package name in its ecosystem's normalized form, as returned
// by the ecosystem's ParseName (PEP 503 for PyPI, the module path for Go).
type Name string

// A Target names a package, or one release of it, that a request is about,
// as the client wrote it.
type Target struct {
	Ecosystem Ecosystem
	Name      string // as the client wrote it
	Version   string // "" for the package as a whole
}

// Error categories callers branch on with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrInvalid     = errors.New("invalid request")
	ErrTooLarge    = errors.New("too large")
	ErrRejected    = errors.New("rejected by upload checks")
	ErrHeld        = errors.New("held for review")
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrInProgress reports that another upload of the same release or
	// file is being published (or is held for review): the name is taken
	// for now, but retrying may succeed or find that upload published.
	ErrInProgress = fmt.Errorf("%w: another upload of it is in progress", ErrExists)
	// ErrGone reports a release that existed and was deleted (a
	// tombstone): not found, and never to be found again.
	ErrGone = fmt.Errorf("%w: it was deleted", ErrNotFound)
	// ErrUnsupported reports an operation the protocol does not offer on
	// the thing named (a method a URL does not take).
	ErrUnsupported = errors.New("operation not supported")
	// ErrUpstream reports that an upstream registry failed, or sent what
	// could not be verified (HTTP 502): nothing of it was stored.
	ErrUpstream = errors.New("upstream registry failed")
	// ErrUpstreamTimeout reports that no upstream registry answered in
	// time (HTTP 504).
	ErrUpstreamTimeout = fmt.Errorf("%w: it did not answer in time", ErrUpstream)
)

// kindError is an error of one category with a message for people.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// Error returns an error of the category kind (one of the Err variables,
// or another sentinel such as access.ErrDenied) whose message is formatted
// from format and args, without the category's own text. Errors among args
// formatted with %w stay in the chain.
func Error(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
