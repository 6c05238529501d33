package server

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{trove.Error(trove.ErrGone, "example.test/m@v1.0.0 was deleted"), http.StatusGone},
		{trove.Error(trove.ErrNotFound, "example.test/m@v1.0.0: not found"), http.StatusNotFound},
		{fmt.Errorf("%w for alice: try again in 5m0s", account.ErrThrottled), http.StatusTooManyRequests},
		{trove.Retry(3*time.Second, trove.ErrTooMany, "too many publishes"), http.StatusTooManyRequests},
		{trove.Retry(time.Second, trove.ErrBusy, "too many sign-ins at once"), http.StatusServiceUnavailable},
		{trove.Error(trove.ErrUpstream, "upstream public answered 500 for left-pad"), http.StatusBadGateway},
		{trove.Error(trove.ErrUpstreamTimeout, "no upstream answered for left-pad"), http.StatusGatewayTimeout},
		{trove.Error(trove.ErrHeld, "left-pad 1.0.0 is held for review"), http.StatusConflict},
	} {
		if got := status(tc.err); got != tc.want {
			t.Errorf("status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
		ok   bool
	}{
		{trove.Retry(1500*time.Millisecond, trove.ErrTooMany, "x"), 2, true},
		{fmt.Errorf("wrapped: %w", trove.Retry(10*time.Millisecond, trove.ErrBusy, "x")), 1, true},
		{trove.Error(trove.ErrTooMany, "no time given"), 0, false},
	} {
		if got, ok := retryAfter(tc.err); got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%v) = %d, %v; want %d, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}
