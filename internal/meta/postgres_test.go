package meta_test

import (
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/metatest"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

func TestPostgres(t *testing.T) {
	metatest.Run(t, func(t *testing.T) *meta.DB { return pgtest.Open(t) })
}
