package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// The inactivity review (packman PKM-16, docs/roles.md)
//
// The owners of a package or an organisation (and administrators) list
// every person with a role on it, where the role comes from and when the
// person was last active (meta.LastActivity: derived from sign-ins,
// sessions, token use and releases); those inactive for longer than
// Config.InactiveAfter are marked. The reminders are account.RoleReminders.

// A Reviewed is one role in a review.
type Reviewed struct {
	User       string
	Role       string
	Via        string // "package", "org NAME" or "team NAME"
	LastActive time.Time
	Inactive   bool
}

// A Review lists the people with roles on a package or an organisation.
type Review struct {
	InactiveAfter time.Duration // 0: the review is off, nobody is marked
	People        []Reviewed
}

// needReviewer checks who may read reviews at all: a person's token that
// may change owners (a review is an owner's work, not a CI job's).
func needReviewer(who *access.Principal) error {
	switch {
	case who == nil:
		return fmt.Errorf("%w: reviewing roles needs an API token", access.ErrUnauthenticated)
	case who.MustChangePassword:
		return access.MustChangePasswordError(who.UserName)
	case !who.Can(access.Owners) && !who.Can(access.ManageTokens):
		return fmt.Errorf("%w: this token cannot review roles (it lacks the owners action): sign in again, or use a token created with --action owners", access.ErrDenied)
	}
	return nil
}

// ReviewPackage lists the people with roles on a package, for its owners
// and administrators.
func (s *Service) ReviewPackage(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string) (*Review, error) {
	if err := needReviewer(who); err != nil {
		return nil, err
	}
	pkg, err := s.namedPackage(ctx, eco, name)
	if err != nil {
		return nil, err
	}
	if !who.Allows(access.Owners, pkg.Ecosystem, pkg.Name) {
		return nil, trove.Error(access.ErrDenied, "this token is not scoped to %s %s: use a token that covers it", eco, pkg.DisplayName)
	}
	if !who.Admin {
		owner, err := s.db.IsOwner(ctx, pkg.ID, who.UserID)
		if err != nil {
			return nil, err
		}
		if !owner {
			return nil, trove.Error(access.ErrDenied, "user %s is not an owner of %s %s: only its owners may review its roles", who.UserName, eco, pkg.DisplayName)
		}
	}
	hs, err := s.db.PackageHoldings(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	org := ""
	if pkg.OrgID != 0 {
		o, err := s.db.OrgByID(ctx, pkg.OrgID)
		if err != nil {
			return nil, err
		}
		org = o.Name
	}
	return s.review(ctx, hs, org)
}

// ReviewOrg lists the members of an organisation, for its owners and
// administrators.
func (s *Service) ReviewOrg(ctx context.Context, who *access.Principal, name string) (*Review, error) {
	if err := needReviewer(who); err != nil {
		return nil, err
	}
	o, role, err := s.org(ctx, s.db, who, name)
	if err != nil {
		return nil, err
	}
	if role != access.Owner && !who.Admin {
		return nil, trove.Error(access.ErrDenied, "user %s is a %s of the organisation %s: only its owners may review its members", who.UserName, role, o.Name)
	}
	hs, err := s.db.OrgHoldings(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return s.review(ctx, hs, o.Name)
}

// review adds each holder's last activity to their holdings.
func (s *Service) review(ctx context.Context, hs []meta.Holding, org string) (*Review, error) {
	r := &Review{InactiveAfter: s.inactiveAfter, People: make([]Reviewed, 0, len(hs))}
	cutoff := now(s).Add(-s.inactiveAfter)
	seen := map[int64]time.Time{}
	for _, h := range hs {
		at, ok := seen[h.UserID]
		if !ok {
			var err error
			if at, err = s.db.LastActivity(ctx, h.UserID); err != nil {
				return nil, err
			}
			seen[h.UserID] = at
		}
		via := h.Via
		if via == "org" {
			via = "org " + org
		}
		r.People = append(r.People, Reviewed{User: h.User, Role: h.Role, Via: via, LastActive: at,
			Inactive: s.inactiveAfter > 0 && at.Before(cutoff)})
	}
	return r, nil
}
