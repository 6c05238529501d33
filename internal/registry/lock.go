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

// Decisions inside transactions
//
// Checks made before a transaction (checkUpload, Apply's authorization)
// keep refused requests cheap, but only checks made inside the
// transaction that acts on them, on rows it has locked, hold when several
// replicas (or PostgreSQL's concurrent writers) act at once. See meta's
// lock.go for the locks and their order: name locks, then rows, then the
// sequencer of the transparency log and change feed.

// recheck locks the package's row and authorizes who again for the
// actions: the token who presented must not have been revoked (a
// revocation that committed first is seen, one that comes later waits for
// tx), and ownership is read again, as it may have changed since the
// checks before the transaction.
func (s *Service) recheck(ctx context.Context, tx *meta.Tx, who *access.Principal, pkg *trove.Package, acts ...access.Action) error {
	return s.recheckAs(ctx, tx, who, pkg, false, acts...)
}

// recheckUpload is recheck for an upload, which also meets the package's
// trusted-only switch.
func (s *Service) recheckUpload(ctx context.Context, tx *meta.Tx, who *access.Principal, pkg *trove.Package) error {
	return s.recheckAs(ctx, tx, who, pkg, true, access.Publish)
}

func (s *Service) recheckAs(ctx context.Context, tx *meta.Tx, who *access.Principal, pkg *trove.Package, upload bool, acts ...access.Action) error {
	if !upload {
		if err := uploadOnly(who); err != nil {
			return err
		}
	}
	if err := tx.LockPackage(ctx, pkg.ID); err != nil {
		return fmt.Errorf("locking %s: %w", pkg.Name, err)
	}
	r := access.Resource{Ecosystem: pkg.Ecosystem, Name: s.key(pkg.Ecosystem, pkg.Name), Exists: true}
	if who != nil {
		if err := liveToken(ctx, tx, who); err != nil {
			return err
		}
		role, err := roleOf(ctx, tx, pkg.ID, who.UserID)
		if err != nil {
			return err
		}
		r.Role = role
	}
	r, err := s.withPolicy(ctx, tx, pkg, r)
	if err != nil {
		return err
	}
	if upload {
		if r, err = withTrustedOnly(ctx, tx, pkg, r); err != nil {
			return err
		}
	}
	for _, a := range acts {
		if err := access.Authorize(who, a, r); err != nil {
			return s.explain(err)
		}
	}
	return nil
}

// roleReader reads the roles a user holds on a package; meta's DB and Tx
// have it.
type roleReader interface {
	Roles(ctx context.Context, packageID, userID int64) ([]string, error)
}

// roleOf returns the user's effective role on the package: the strongest
// of their own grant, their teams' and their organisation membership's.
func roleOf(ctx context.Context, q roleReader, packageID, userID int64) (access.Role, error) {
	roles, err := q.Roles(ctx, packageID, userID)
	if err != nil {
		return access.NoRole, err
	}
	best := access.NoRole
	for _, name := range roles {
		r, err := access.ParseRole(name)
		if err != nil {
			return access.NoRole, fmt.Errorf("reading roles on package %d: %w", packageID, err)
		}
		best = max(best, r)
	}
	return best, nil
}

// liveToken checks that the token who presented, if any, is still live,
// and keeps it so until tx ends.
func liveToken(ctx context.Context, tx *meta.Tx, who *access.Principal) error {
	if who.TokenID == 0 {
		return nil
	}
	tok, err := tx.LiveToken(ctx, who.TokenID)
	switch {
	case errors.Is(err, meta.ErrNotFound) || err == nil && tok.UserID != who.UserID:
		return fmt.Errorf("%w: unknown token", access.ErrUnauthenticated)
	case err != nil:
		return err
	case !tok.RevokedAt.IsZero():
		return fmt.Errorf("%w: the token was revoked while the request ran; nothing was changed", access.ErrUnauthenticated)
	}
	return nil
}

// lockNames takes the name locks under which a new package's collisions
// are checked: its namespace (for a tree, its root, which every path
// below shares), its look-alike skeleton, and its name.
func lockNames(ctx context.Context, tx *meta.Tx, rules Rules, name trove.Name) error {
	eco := string(rules.Ecosystem())
	if ns := namespaceOf(rules, name); ns.Key != "" {
		key := ns.Key
		if ns.Tree {
			key, _, _ = strings.Cut(key, "/")
		}
		if err := tx.LockName(ctx, eco, "namespace "+key); err != nil {
			return err
		}
	}
	if sk := rules.Skeleton(name); sk != "" {
		if err := tx.LockName(ctx, eco, "skeleton "+sk); err != nil {
			return err
		}
	}
	return tx.LockName(ctx, eco, "name "+string(name))
}
