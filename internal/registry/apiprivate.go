package registry

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
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

// maxPrivateScan bounds the packages PrivateMatches reads per ecosystem.
const maxPrivateScan = 500

// PrivateMatches returns the listings of up to limit private packages
// whose name contains text (any case) and that the request may read, in
// every ecosystem: what a search shows its reader besides the public
// index. Names are matched among the first maxPrivateScan matches, public
// ones included, of each ecosystem. A request without read-private gets
// none.
func (s *Service) PrivateMatches(ctx context.Context, text string, limit int) ([]meta.Listing, error) {
	if p := access.PrincipalFrom(ctx); p == nil || !p.Can(access.ReadPrivate) {
		return nil, nil
	}
	ecos := slices.Sorted(maps.Keys(s.rules))
	var out []meta.Listing
	for _, eco := range ecos {
		ps, _, err := s.Search(ctx, eco, text, maxPrivateScan, 0)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !p.Private || len(out) >= limit {
				continue
			}
			l, err := s.Listing(ctx, eco, p.Name)
			if errors.Is(err, trove.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
	}
	return out, nil
}
