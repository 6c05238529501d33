package registry

import (
	"context"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// Owners returns the owners of a package with a visible release, by name.
func (s *Service) Owners(ctx context.Context, eco trove.Ecosystem, name string) ([]*trove.User, error) {
	pkg, err := s.namedPackage(ctx, eco, name)
	if err != nil {
		return nil, err
	}
	return s.db.Owners(ctx, pkg.ID)
}

// AddOwner makes the user an owner of the package; see [AddOwner].
func (s *Service) AddOwner(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, user string) error {
	return s.Apply(ctx, who, eco, name, AddOwner{User: user})
}

// RemoveOwner removes the user from the package's owners; see [RemoveOwner].
func (s *Service) RemoveOwner(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, user string) error {
	return s.Apply(ctx, who, eco, name, RemoveOwner{User: user})
}
