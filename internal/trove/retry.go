package trove

import (
	"errors"
	"fmt"
	"time"
)

// Categories of refusals that end when the client waits.
var (
	// ErrTooMany reports that a client has used up a rate limit or a
	// failure budget (HTTP 429). Errors of this category usually carry a
	// [RetryError] saying when to try again.
	ErrTooMany = errors.New("too many requests")
	// ErrBusy reports that the server is at its limit for some expensive
	// work (HTTP 503): the request was refused rather than queued.
	ErrBusy = fmt.Errorf("%w: server busy", ErrUnavailable)
)

// A RetryError is a refusal that ends after a known time: the server sends
// After as the Retry-After header.
type RetryError struct {
	After time.Duration
	Err   error // the refusal, of a category such as ErrTooMany or ErrBusy
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Retry returns an error of the category kind whose message is formatted
// from format and args, and that tells the client to retry after after.
func Retry(after time.Duration, kind error, format string, args ...any) error {
	return &RetryError{After: after, Err: Error(kind, format, args...)}
}

// RetryAfter returns the whole number of seconds (at least 1) a client
// should wait before retrying err, and whether err says so at all.
func RetryAfter(err error) (int, bool) {
	var re *RetryError
	if !errors.As(err, &re) {
		return 0, false
	}
	s := int((re.After + time.Second - 1) / time.Second)
	return max(s, 1), true
}
