package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// A PackageRole is a package and a role held on it.
type PackageRole struct {
	Package *trove.Package
	Role    access.Role
}

// packageRoles converts grants, dropping the private packages the request
// of ctx may not read, and refuses more than MaxOrgPackagesListed.
func (s *Service) packageRoles(ctx context.Context, gs []meta.PackageGrant, whose string) ([]PackageRole, error) {
	if len(gs) > MaxOrgPackagesListed {
		return nil, trove.Error(trove.ErrInvalid, "%s holds roles on more than %d packages, too many to list at once", whose, MaxOrgPackagesListed)
	}
	out := make([]PackageRole, 0, len(gs))
	for _, g := range gs {
		ok, err := s.mayRead(ctx, g.Package)
		if err != nil {
			return nil, err
		}
		if !ok || g.Package.Upstream {
			continue
		}
		r, err := access.ParseRole(g.Role)
		if err != nil {
			return nil, fmt.Errorf("reading roles of %s: %w", whose, err)
		}
		out = append(out, PackageRole{Package: g.Package, Role: r})
	}
	return out, nil
}

// UserPackages returns the packages of an ecosystem on which the user
// named user holds a role granted on the package itself (not through an
// organisation or a team), with it: what npm access list packages USER
// shows. Like a package's owners, these are public for public packages;
// private ones appear only to those who may read them. An unknown or
// deleted user is ErrNotFound.
func (s *Service) UserPackages(ctx context.Context, eco trove.Ecosystem, user string) ([]PackageRole, error) {
	u, err := s.db.UserByName(ctx, strings.TrimSpace(user))
	if errors.Is(err, meta.ErrNotFound) || err == nil && !u.DeletedAt.IsZero() {
		return nil, trove.Error(trove.ErrNotFound, "no user %s", user)
	}
	if err != nil {
		return nil, err
	}
	gs, err := s.db.PackagesOfUser(ctx, u.ID, eco, MaxOrgPackagesListed+1)
	if err != nil {
		return nil, err
	}
	return s.packageRoles(ctx, gs, u.Name)
}

// TeamPackages returns the packages of an ecosystem the team of the
// organisation holds roles on, with them, for the organisation's members
// and administrators (others get the organisation's ErrNotFound).
func (s *Service) TeamPackages(ctx context.Context, who *access.Principal, org, team string, eco trove.Ecosystem) ([]PackageRole, error) {
	if who == nil {
		return nil, fmt.Errorf("%w: listing a team's packages needs an API token", access.ErrUnauthenticated)
	}
	o, _, err := s.org(ctx, s.db, who, org)
	if err != nil {
		return nil, err
	}
	t, err := s.db.Team(ctx, o.ID, strings.TrimSpace(team))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "%s has no team %s", o.Name, team)
	}
	if err != nil {
		return nil, err
	}
	gs, err := s.db.PackagesOfTeam(ctx, t.ID, eco, MaxOrgPackagesListed+1)
	if err != nil {
		return nil, err
	}
	return s.packageRoles(ctx, gs, o.Name+":"+t.Name)
}
