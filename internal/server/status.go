package server

import (
	"errors"
	"net/http"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

// status is the one place where an error becomes an HTTP status.
func status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, trove.ErrUpstreamTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, trove.ErrUpstream):
		return http.StatusBadGateway
	case errors.Is(err, access.ErrUnauthenticated), errors.Is(err, account.ErrBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, access.ErrDenied):
		return http.StatusForbidden
	case errors.Is(err, account.ErrThrottled), errors.Is(err, trove.ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, trove.ErrGone):
		return http.StatusGone
	case errors.Is(err, trove.ErrNotFound), errors.Is(err, account.ErrLoginNotFound):
		return http.StatusNotFound
	case errors.Is(err, trove.ErrExists), errors.Is(err, account.ErrExists):
		return http.StatusConflict
	case errors.Is(err, trove.ErrHeld):
		// Not 202: npm and twine show nothing of a 2xx answer and report
		// success, so the publisher would not learn that nothing is
		// visible, nor why, nor what happens next (the message says).
		return http.StatusConflict
	case errors.Is(err, trove.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, trove.ErrInvalid), errors.Is(err, trove.ErrRejected), errors.Is(err, account.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, trove.ErrUnsupported):
		return http.StatusMethodNotAllowed
	case errors.Is(err, trove.ErrUnavailable), errors.Is(err, blob.ErrDamaged):
		return http.StatusServiceUnavailable
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// retryAfter returns the Retry-After seconds an error asks for, if any: a
// trove.RetryError, whatever its status.
func retryAfter(err error) (int, bool) { return trove.RetryAfter(err) }
