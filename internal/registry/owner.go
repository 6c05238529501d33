package registry

import (
	"context"
	"errors"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Owners returns the owners of a package with a visible release, by name.
func (s *Service) Owners(ctx context.Context, eco trove.Ecosystem, name string) ([]*trove.User, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return nil, err
	}
	pkg, err := s.visiblePackage(ctx, eco, n, name)
	if err != nil {
		return nil, err
	}
	return s.db.Owners(ctx, pkg.ID)
}

// AddOwner makes the user an owner of the package. Only an owner or an
// administrator may, with a token allowing publish on the package. Adding
// an existing owner changes nothing, logs nothing and is not an error.
func (s *Service) AddOwner(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, user string) error {
	return s.change(ctx, who, access.Publish, trove.Target{Ecosystem: eco, Name: name}, "owner",
		func(tx *meta.Tx, pkg *trove.Package, _ *trove.Release, ev *translog.Event) error {
			u, err := ownerUser(ctx, tx, user)
			if err != nil {
				return err
			}
			owner, err := tx.IsOwner(ctx, pkg.ID, u.ID)
			if err != nil {
				return err
			}
			if owner {
				return errNoChange
			}
			ev.Owners = []translog.OwnerChange{{Add: true, User: u.Name}}
			return tx.AddOwner(ctx, pkg.ID, u.ID, ev.Time)
		})
}

// RemoveOwner removes the user from the package's owners, with the same
// authorization as AddOwner. Removing a user who is not an owner changes
// nothing, logs nothing and is not an error; removing the last owner is
// ErrInvalid.
func (s *Service) RemoveOwner(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, user string) error {
	return s.change(ctx, who, access.Publish, trove.Target{Ecosystem: eco, Name: name}, "owner",
		func(tx *meta.Tx, pkg *trove.Package, _ *trove.Release, ev *translog.Event) error {
			u, err := ownerUser(ctx, tx, user)
			if err != nil {
				return err
			}
			owners, err := tx.Owners(ctx, pkg.ID)
			if err != nil {
				return err
			}
			found := false
			for _, o := range owners {
				found = found || o.ID == u.ID
			}
			switch {
			case !found:
				return errNoChange
			case len(owners) == 1:
				return trove.Error(trove.ErrInvalid, "%s is the only owner of %s: a package keeps at least one owner; add another owner first", u.Name, pkg.DisplayName)
			}
			ev.Owners = []translog.OwnerChange{{User: u.Name}}
			return tx.RemoveOwner(ctx, pkg.ID, u.ID)
		})
}

// ownerUser returns the user named in an owner change.
func ownerUser(ctx context.Context, tx *meta.Tx, name string) (*trove.User, error) {
	u, err := tx.UserByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "no user %s", name)
	}
	return u, err
}
