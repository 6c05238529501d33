package registry

import (
	"context"
	"fmt"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// TokenHolders returns what a revocation of every token that can write a
// package needs: the package's key as token scopes match it, and the ids
// of its owners, whose tokens are the ones that can write it. who must be
// an owner of the package or an administrator (nil is the operator, on the
// data directory). A package without a visible release is ErrNotFound,
// like a name that never existed, before who is checked.
func (s *Service) TokenHolders(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string) (trove.Name, []int64, error) {
	pkg, err := s.changedPackage(ctx, eco, name)
	if err != nil {
		return "", nil, err
	}
	owners, err := s.db.Owners(ctx, pkg.ID)
	if err != nil {
		return "", nil, err
	}
	ids := make([]int64, len(owners))
	owner := false
	for i, u := range owners {
		ids[i] = u.ID
		owner = owner || who != nil && u.ID == who.UserID
	}
	if who != nil && !owner && !who.Admin {
		return "", nil, fmt.Errorf("%w: only an owner of %s:%s or an administrator may revoke the tokens that can write it", access.ErrDenied, eco, pkg.Name)
	}
	return s.key(eco, pkg.Name), ids, nil
}
