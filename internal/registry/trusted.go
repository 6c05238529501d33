package registry

import (
	"context"
	"errors"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Trusted publishing (internal/trust) asks two things of the core: who
// may configure a package's publishers, and the package's "trusted
// publishing only" switch, which Authorize applies to every publish.

// CheckPublisherChange returns the normalized name of the package
// (ecosystem, name as written) if who may configure its trusted
// publishers, and whether it exists. For an existing package that is what
// changing its settings needs: the owners action in the token's scope,
// the owner role (or an administrator), and the level its MFA policy asks. A
// name no package has yet takes a "pending" publisher if who could create
// it by publishing: the scope, and the name's rules (upstream names,
// look-alikes, namespaces and reservations).
func (s *Service) CheckPublisherChange(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string) (trove.Name, bool, error) {
	return s.checkPublishers(ctx, who, eco, name, s.mayKnow)
}

// CheckPublisherRead is CheckPublisherChange for listing the publishers:
// a private package is known to those who may read it.
func (s *Service) CheckPublisherRead(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string) (trove.Name, bool, error) {
	return s.checkPublishers(ctx, who, eco, name, s.mayRead)
}

func (s *Service) checkPublishers(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string,
	known func(context.Context, *trove.Package) (bool, error)) (trove.Name, bool, error) {
	rules, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return "", false, err
	}
	pkg, err := s.db.Package(ctx, eco, n)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return "", false, err
	}
	hidden := false
	if pkg != nil {
		// A private package someone may not know exists is answered as a
		// new name, up to the end (ErrNotAvailable).
		ok, err := known(as(ctx, who), pkg)
		if err != nil {
			return "", false, err
		}
		if !ok {
			hidden, pkg = true, nil
		}
	}
	// An existing package's publishers are its settings (the owner role
	// and the owners action, like its MFA policy); a pending publisher is
	// asked what creating the package by publishing would be.
	act := access.Publish
	if pkg != nil {
		act = access.Owners
	}
	if err := s.authorize(ctx, who, act, eco, n, pkg); err != nil {
		return "", false, err
	}
	if hidden {
		// Not the namespace's checks: they would see the package.
		return "", false, trove.Error(ErrNotAvailable, "the name %s is not available: choose another name", name)
	}
	if err := s.checkUpstreamName(ctx, eco, n, pkg); err != nil {
		return "", false, err
	}
	if pkg != nil {
		return n, true, nil
	}
	if err := s.checkLookalike(ctx, s.db, who, rules, n); err != nil {
		return "", false, err
	}
	if _, err := s.checkCreate(ctx, s.db, who, rules, n); err != nil {
		return "", false, err
	}
	return n, false, nil
}

// PackageName returns the normalized name of (ecosystem, name as written)
// and whether a package has it, for reading its publishers.
func (s *Service) PackageName(ctx context.Context, eco trove.Ecosystem, name string) (trove.Name, bool, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return "", false, err
	}
	_, err = s.db.Package(ctx, eco, n)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return n, false, nil
	case err != nil:
		return "", false, err
	}
	return n, true, nil
}

// SetTrustedOnly sets or clears the package's "trusted publishing only"
// switch. It is a settings change: owners and administrators, with
// credentials meeting the package's level. Turning it off is refused to
// a token a trusted publisher minted (it can only publish anyway).
func (s *Service) SetTrustedOnly(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, on bool) error {
	pkg, err := s.maintainedPackage(ctx, eco, name, "and no publishing policy")
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.recheck(ctx, tx, who, pkg, access.Owners); err != nil {
			return err
		}
		return tx.SetTrustedOnly(ctx, pkg.ID, on)
	})
	return s.explain(err)
}

// uploadOnly refuses a token a trusted publisher minted anything but
// uploads (with the dist-tags they set): its publish action would
// otherwise also reach tags, owners and settings, and a compromised CI
// job could make its attacker an owner for good.
func uploadOnly(who *access.Principal) error {
	if who != nil && who.PublisherID != 0 {
		return trove.Error(access.ErrDenied, "a token minted by a trusted publisher only uploads releases: tags, owners and settings need an owner's own token")
	}
	return nil
}
