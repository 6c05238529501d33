package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/trove-dev/trove/internal/blob"
)

// ReadState returns the state object's bytes.
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	if err := blob.CheckStateName(name); err != nil {
		return nil, err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	body, _, _, err := s.core.GetObject(cctx, s.bucket, s.prefix+"state/"+name, minio.GetObjectOptions{})
	if isNotFound(err) {
		return nil, fmt.Errorf("reading state %s: %w", name, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading state %s: %w", name, err)
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, blob.MaxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading state %s: %w", name, err)
	}
	if len(b) > blob.MaxStateBytes {
		return nil, fmt.Errorf("reading state %s: over the limit of %d bytes", name, blob.MaxStateBytes)
	}
	return b, nil
}

// WriteState replaces the state object with one PUT, which S3 makes
// visible atomically: readers see the old bytes or the new.
func (s *Store) WriteState(ctx context.Context, name string, data []byte) error {
	if err := blob.CheckStateName(name); err != nil {
		return err
	}
	if len(data) > blob.MaxStateBytes {
		return fmt.Errorf("writing state %s: %d bytes is over the limit of %d", name, len(data), blob.MaxStateBytes)
	}
	sum := sha256.Sum256(data)
	if err := s.put(ctx, s.prefix+"state/"+name, bytes.NewReader(data), int64(len(data)), sum[:]); err != nil {
		return fmt.Errorf("writing state %s: %w", name, err)
	}
	return nil
}
