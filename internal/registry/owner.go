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

// Grant gives the user the role on the package ("none" removes it); see [Grant].
func (s *Service) Grant(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, user, role string) error {
	return s.Apply(ctx, who, eco, name, Grant{User: user, Role: role})
}

// GrantTeam gives a team of the package's organisation the role on it; see [TeamGrant].
func (s *Service) GrantTeam(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, team, role string) error {
	return s.Apply(ctx, who, eco, name, TeamGrant{Team: team, Role: role})
}

// Transfer moves the package to an organisation or out of it; see [Transfer].
func (s *Service) Transfer(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, to Transfer) error {
	return s.Apply(ctx, who, eco, name, to)
}

// Access is who holds roles on a package: its organisation (its members
// hold their roles on it), its users' own grants and its teams'.
type Access struct {
	Org   string // "" for none
	Users []trove.Grant
	Teams []trove.Grant
}

// Access returns who holds roles on a package with a visible release.
func (s *Service) Access(ctx context.Context, eco trove.Ecosystem, name string) (*Access, error) {
	pkg, err := s.namedPackage(ctx, eco, name)
	if err != nil {
		return nil, err
	}
	a := &Access{}
	if pkg.OrgID != 0 {
		o, err := s.db.OrgByID(ctx, pkg.OrgID)
		if err != nil {
			return nil, err
		}
		a.Org = o.Name
	}
	if a.Users, err = s.db.Grants(ctx, pkg.ID); err != nil {
		return nil, err
	}
	if a.Teams, err = s.db.TeamGrants(ctx, pkg.ID); err != nil {
		return nil, err
	}
	return a, nil
}
