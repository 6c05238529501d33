package registry

import (
	"context"
	"errors"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Disown removes a user whose account is being deleted from the owners of
// every package they own, within tx (the deletion's transaction), through
// the changes owners make themselves: each removal of a package with a
// visible release is a RemoveOwner appended to the transparency log and
// the change feed, as `trove owner remove` is. A package whose only owner
// they were is left without owners (which RemoveOwner otherwise refuses),
// so that only administrators may act on it, unless heir is not nil: heir
// then first becomes an owner of it (an AddOwner, logged too). Ownership
// of a package that never had a visible release is not public yet, so
// its changes are not logged (see logFirstOwners).
//
// The caller has authorized the deletion (an administrator, or an
// operator on the command line), locked the user's row, and calls the
// returned function once tx has committed, to sign the log and tell the
// caches; it must not call it if tx rolled back. While the log is
// read-only Disown is ErrUnavailable.
func (s *Service) Disown(ctx context.Context, tx *meta.Tx, user, heir *trove.User) (func(context.Context) error, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	owned, err := tx.OwnedPackages(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	// Rows in id order (OwnedPackages' order), before the sequencer.
	for _, op := range owned {
		if err := tx.LockPackage(ctx, op.Package.ID); err != nil {
			return nil, err
		}
	}
	at := now(s)
	var changed []*trove.Package
	logged := false
	for _, op := range owned {
		pkg := op.Package
		rules := s.rules[pkg.Ecosystem]
		if rules == nil {
			return nil, trove.Error(trove.ErrUnavailable, "%s %s is in the ecosystem %q, which this server does not serve: its owners cannot be changed here", pkg.Ecosystem, pkg.DisplayName, pkg.Ecosystem)
		}
		b := &batch{ctx: ctx, s: s, tx: tx, pkg: pkg, rules: rules, at: at}
		public, err := b.public()
		if err != nil {
			return nil, err
		}
		var changes []Change
		owners, err := tx.Owners(ctx, pkg.ID)
		if err != nil {
			return nil, err
		}
		if heir != nil && len(owners) == 1 {
			changes = append(changes, AddOwner{User: heir.Name})
		}
		changes = append(changes, RemoveOwner{User: user.Name, leaveOwnerless: true})
		for _, c := range changes {
			if !public {
				if err := c.apply(b, nil, &translog.Event{Time: at}); err != nil && !errors.Is(err, errNoChange) {
					return nil, err
				}
				continue
			}
			ok, err := b.apply(c)
			if err != nil {
				return nil, err
			}
			logged = logged || ok
		}
		changed = append(changed, pkg)
	}
	return func(ctx context.Context) error {
		for _, p := range changed {
			s.changed(p.Ecosystem, p.Name)
		}
		if !logged {
			return nil
		}
		return s.sign(context.WithoutCancel(ctx))
	}, nil
}

// public reports whether the batch's package has a visible release, so
// that it and its owners are in the transparency log.
func (b *batch) public() (bool, error) {
	rels, err := b.tx.Releases(b.ctx, b.pkg.ID)
	if err != nil {
		return false, err
	}
	for _, r := range rels {
		if r.State.Visible() {
			return true, nil
		}
	}
	return false, nil
}
