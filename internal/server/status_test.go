package server

import (
	"fmt"
	"net/http"
	"testing"

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
	} {
		if got := status(tc.err); got != tc.want {
			t.Errorf("status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
