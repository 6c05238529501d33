package registry

import (
	"context"
	"errors"

	"github.com/trove-dev/trove/internal/blob"
)

// DownloadURL returns a short-lived URL from which a client can GET a
// blob of a visible file straight from the blob store, if the store hands
// them out (blob.Presigner, with redirects configured). ok is false when
// it does not: the caller then serves the bytes itself. A missing or
// quarantined blob is never given a URL; its error is Open's.
func (s *Service) DownloadURL(ctx context.Context, d blob.Digest, o blob.PresignOptions) (url string, ok bool, err error) {
	u, err := blob.PresignGet(ctx, s.blobs, d, o)
	if errors.Is(err, errors.ErrUnsupported) {
		return "", false, nil
	}
	if err != nil {
		return "", false, blobError(d, err)
	}
	return u, true, nil
}
