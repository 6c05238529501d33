package memblob_test

import (
	"testing"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/blobtest"
	"github.com/trove-dev/trove/internal/blob/memblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return memblob.New() })
}
