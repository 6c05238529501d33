package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// namedPackage is visiblePackage for a name as a client wrote it, to
// read it.
func (s *Service) namedPackage(ctx context.Context, eco trove.Ecosystem, name string) (*trove.Package, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return nil, err
	}
	return s.visiblePackage(ctx, eco, n, name, false)
}

// changedPackage is visiblePackage for a name as a client wrote it, to
// change it.
func (s *Service) changedPackage(ctx context.Context, eco trove.Ecosystem, name string) (*trove.Package, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return nil, err
	}
	return s.visiblePackage(ctx, eco, n, name, true)
}

// visiblePackage returns the package if it has a visible release. One
// without is ErrNotFound, exactly like one that does not exist, and this is
// checked before authorization so that a refusal does not reveal it; so
// is a private package to those who may not read it, or, for a change,
// who hold no role on it either (mayKnow).
func (s *Service) visiblePackage(ctx context.Context, eco trove.Ecosystem, name trove.Name, asWritten string, change bool) (*trove.Package, error) {
	notFound := trove.Error(trove.ErrNotFound, "package %s not found", asWritten)
	pkg, err := s.db.Package(ctx, eco, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	known := s.mayRead
	if change {
		known = s.mayKnow
	}
	if ok, err := known(ctx, pkg); err != nil || !ok {
		return nil, cmp.Or(err, notFound)
	}
	rels, err := s.db.Releases(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	// An administrator's change may name a package whose releases are
	// all quarantined (to release or take them down).
	p := access.PrincipalFrom(ctx)
	admin := change && p != nil && p.Admin
	for _, r := range rels {
		if r.State.Visible() || admin && r.State == trove.Suspended {
			return pkg, nil
		}
	}
	return nil, notFound
}

// The methods below each make one change with Apply.

// Yank yanks a release; see [Yank].
func (s *Service) Yank(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, Yank{Version: t.Version, Reason: reason})
}

// Unyank makes a yanked release resolvable again; see [Unyank].
func (s *Service) Unyank(ctx context.Context, who *access.Principal, t trove.Target) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, Unyank{Version: t.Version})
}

// Deprecate sets or removes a release's deprecation message; see [Deprecate].
func (s *Service) Deprecate(ctx context.Context, who *access.Principal, t trove.Target, msg string) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, Deprecate{Version: t.Version, Message: msg})
}

// Delete turns a release into a tombstone; see [Delete].
func (s *Service) Delete(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, Delete{Version: t.Version, Reason: reason})
}

// SetDistTag points a tag of the package at the target's release; see [SetTag].
func (s *Service) SetDistTag(ctx context.Context, who *access.Principal, t trove.Target, tag string) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, SetTag{Tag: tag, Version: t.Version})
}

// RemoveDistTag removes a tag of the package; see [RemoveTag].
func (s *Service) RemoveDistTag(ctx context.Context, who *access.Principal, t trove.Target, tag string) error {
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, RemoveTag{Tag: tag})
}

// CheckScope reports early, before a request body is read or any work is
// done, whether who's credentials allow the action a on the package
// (ecosystem, name as the client wrote it): ErrInvalid for a name the
// ecosystem refuses, access.ErrUnauthenticated without credentials,
// access.ErrDenied when the token's scope does not cover the package.
// Ownership is not checked here (the package may not exist yet): Publish
// and Apply authorize everything again.
func (s *Service) CheckScope(who *access.Principal, a access.Action, eco trove.Ecosystem, name string) error {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return err
	}
	if who == nil {
		return fmt.Errorf("%w: %s %s:%s needs an API token", access.ErrUnauthenticated, a, eco, n)
	}
	if !who.Allows(a, eco, s.key(eco, n)) {
		return fmt.Errorf("%w: this token's scope does not allow %s on %s:%s", access.ErrDenied, a, eco, n)
	}
	return nil
}

// note tells the request's audit entry that it acts on the package (and
// release): see audit.Note.
func (s *Service) note(ctx context.Context, eco trove.Ecosystem, name, version string) {
	audit.SetTarget(ctx, trove.Target{Ecosystem: eco, Name: string(s.key(eco, trove.Name(name))), Version: version})
}

// Key returns the name as the registry keys it (Rules.Fold): what token
// scopes and the audit log's package filter compare.
func (s *Service) Key(eco trove.Ecosystem, name string) string {
	return string(s.key(eco, trove.Name(name)))
}

// key returns the name as token scopes compare it (Rules.Fold).
func (s *Service) key(eco trove.Ecosystem, n trove.Name) trove.Name {
	if r := s.rules[eco]; r != nil {
		return trove.Name(r.Fold(string(n)))
	}
	return n
}

// Authorize reports whether who may take the action a on the package
// (ecosystem, name as the client wrote it), which must have a visible
// release: ErrNotFound otherwise, whoever asks, then access errors (token
// scope, ownership). For endpoints that change nothing themselves but must
// answer only those who could (npm's tarball deletion after an unpublish).
func (s *Service) Authorize(ctx context.Context, who *access.Principal, a access.Action, eco trove.Ecosystem, name string) error {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return err
	}
	s.note(ctx, eco, string(n), "")
	pkg, err := s.visiblePackage(ctx, eco, n, name, true)
	if err != nil {
		return err
	}
	return s.authorize(ctx, who, a, eco, n, pkg)
}
