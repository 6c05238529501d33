package server

import (
	"net/http"
	"testing"

	"github.com/trove-dev/trove/internal/registry"
)

func TestStatusGone(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{registry.Error(registry.ErrGone, "example.test/m@v1.0.0 was deleted"), http.StatusGone},
		{registry.Error(registry.ErrNotFound, "example.test/m@v1.0.0: not found"), http.StatusNotFound},
	} {
		if got := status(tc.err); got != tc.want {
			t.Errorf("status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
