package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/translog"
)

// LogState returns the blob store as the transparency log's state store
// (translog.Options.State): its state objects, with the blob store's
// not-found error translated into the log's.
func LogState(s blob.Store) translog.StateStore { return logState{s} }

type logState struct{ s blob.Store }

func (b logState) ReadState(ctx context.Context, name string) ([]byte, error) {
	data, err := b.s.ReadState(ctx, name)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", translog.ErrNotFound, err)
	}
	return data, err
}

func (b logState) WriteState(ctx context.Context, name string, data []byte) error {
	return b.s.WriteState(ctx, name, data)
}
