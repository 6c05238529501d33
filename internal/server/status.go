package server

import (
	"errors"
	"net/http"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/registry"
)

// status is the one place where an error becomes an HTTP status.
func status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, access.ErrUnauthenticated), errors.Is(err, account.ErrBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, access.ErrDenied):
		return http.StatusForbidden
	case errors.Is(err, account.ErrThrottled):
		return http.StatusTooManyRequests
	case errors.Is(err, registry.ErrGone):
		return http.StatusGone
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, account.ErrLoginNotFound):
		return http.StatusNotFound
	case errors.Is(err, registry.ErrExists), errors.Is(err, account.ErrExists):
		return http.StatusConflict
	case errors.Is(err, registry.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, registry.ErrRejected), errors.Is(err, account.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, registry.ErrHeld):
		return http.StatusAccepted
	case errors.Is(err, registry.ErrUnsupported):
		return http.StatusMethodNotAllowed
	case errors.Is(err, registry.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}
