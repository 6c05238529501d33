package registry

import (
	"context"

	"github.com/trove-dev/trove/internal/trove"
)

// Private reports whether a package with a visible release is private.
// Like every read, a private package the request may not read answers
// ErrNotFound, exactly as a name never published.
func (s *Service) Private(ctx context.Context, eco trove.Ecosystem, name string) (bool, error) {
	pkg, err := s.namedPackage(ctx, eco, name)
	if err != nil {
		return false, err
	}
	return pkg.Private, nil
}
