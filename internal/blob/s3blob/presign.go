package s3blob

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"

	"github.com/trove-dev/trove/internal/blob"
)

// PresignGet returns a presigned GET URL of the blob, valid for the
// configured redirect TTL, after checking with a HEAD that the blob is in
// service (not missing, not quarantined). Signing makes no request. With
// no TTL configured it answers errors.ErrUnsupported.
func (s *Store) PresignGet(ctx context.Context, d blob.Digest, o blob.PresignOptions) (string, error) {
	if s.ttl <= 0 {
		return "", fmt.Errorf("presigning blob %s: redirects are off: %w", d, errors.ErrUnsupported)
	}
	if _, err := s.Stat(ctx, d); err != nil {
		return "", err
	}
	key, err := s.blobKey(d)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	if o.ContentType != "" {
		q.Set("response-content-type", o.ContentType)
	}
	if o.Filename != "" {
		if v := mime.FormatMediaType("attachment", map[string]string{"filename": o.Filename}); v != "" {
			q.Set("response-content-disposition", v)
		}
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	u, err := s.client.PresignedGetObject(cctx, s.bucket, key, s.ttl, q)
	if err != nil {
		return "", fmt.Errorf("presigning blob %s: %w", d, err)
	}
	return u.String(), nil
}
