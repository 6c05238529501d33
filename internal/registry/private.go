package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Private packages (docs/private-packages.md) are read only by users
// holding a role on them (reader, maintainer or owner: their own grant,
// their organisation's membership or a team's grant) with credentials
// whose scope carries read-private on them, and by administrators. To
// everyone else every read answers exactly as for a name that was never
// published: ErrNotFound with the same message.
//
// The rule is applied where the registry reads a package for a request
// (Project, View, File, Listing, LogEntries, Deleted, the changes' lookups,
// Search) and by adapters before their caches (CanRead): a cached
// document is served only after the request passed it.
//
// A request's context carries its principal (access.WithPrincipal, nil
// for anonymous requests); a context without one is the operator's (the
// command line on the data directory, background jobs) and reads
// everything.

// ErrNotAvailable refuses to take a name a private package holds to
// someone who may not know it exists (an upload, a pending trusted
// publisher), once every refusal a new name would get was tried. It wraps
// access.ErrDenied.
var ErrNotAvailable = fmt.Errorf("%w: name not available", access.ErrDenied)

// A privEntry is a cached answer of CanRead's first question: is the
// package private, and which is it.
type privEntry struct {
	private bool
	id      int64
}

// CanRead returns nil if the request of ctx may read the package (eco,
// name), name folded by the ecosystem's rules: every public package or
// name, and a private package for those allowed to read it. Otherwise it
// returns the ErrNotFound a name never published gets. For public
// packages it costs a map lookup once the answer is cached (until the
// package changes).
func (s *Service) CanRead(ctx context.Context, eco trove.Ecosystem, name trove.Name) error {
	if !access.InRequest(ctx) {
		return nil
	}
	k := fileKey{eco: eco, name: name}
	s.mu.RLock()
	e, ok := s.privates[k]
	gen := s.gen
	s.mu.RUnlock()
	if !ok {
		pkg, err := s.db.Package(ctx, eco, name)
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return err
		default:
			e = privEntry{private: pkg.Private, id: pkg.ID}
		}
		s.mu.Lock()
		if s.gen == gen { // no change raced with the lookup
			if s.privates == nil || len(s.privates) > 200_000 {
				s.privates = make(map[fileKey]privEntry)
			}
			s.privates[k] = e
		}
		s.mu.Unlock()
	}
	if !e.private {
		return nil
	}
	ok, err := s.mayReadPrivate(ctx, eco, name, e.id)
	if err != nil || ok {
		return err
	}
	return trove.Error(trove.ErrNotFound, "package %s not found", name)
}

// mayRead reports whether the request of ctx may read pkg.
func (s *Service) mayRead(ctx context.Context, pkg *trove.Package) (bool, error) {
	if !pkg.Private || !access.InRequest(ctx) {
		return true, nil
	}
	return s.mayReadPrivate(ctx, pkg.Ecosystem, pkg.Name, pkg.ID)
}

// mayKnow reports whether the request of ctx may know that pkg exists,
// for changes to it: those who may read it, and the people holding a role
// on it (or administrators) whatever their token's scope, whose changes
// are then authorized as any other (an owner's token without read-private
// still changes owners).
func (s *Service) mayKnow(ctx context.Context, pkg *trove.Package) (bool, error) {
	ok, err := s.mayRead(ctx, pkg)
	if err != nil || ok {
		return ok, err
	}
	p := access.PrincipalFrom(ctx)
	if p == nil {
		return false, nil
	}
	if p.Admin {
		return true, nil
	}
	role, err := roleOf(ctx, s.db, pkg.ID, p.UserID)
	return role != access.NoRole, err
}

// mayReadPrivate reports whether the request's principal may read the
// private package with the id.
func (s *Service) mayReadPrivate(ctx context.Context, eco trove.Ecosystem, name trove.Name, id int64) (bool, error) {
	p := access.PrincipalFrom(ctx)
	if p == nil {
		return false, nil
	}
	role, err := roleOf(ctx, s.db, id, p.UserID)
	if err != nil {
		return false, err
	}
	r := access.Resource{Ecosystem: eco, Name: s.key(eco, name), Exists: true, Role: role}
	return access.Authorize(p, access.ReadPrivate, r) == nil, nil
}

// viewer returns whom a list of packages read for ctx is for.
func viewer(ctx context.Context) meta.Viewer {
	if !access.InRequest(ctx) {
		return meta.Viewer{All: true}
	}
	p := access.PrincipalFrom(ctx)
	switch {
	case p == nil || !p.Can(access.ReadPrivate):
		return meta.Viewer{}
	case p.Admin:
		return meta.Viewer{All: true}
	}
	return meta.Viewer{UserID: p.UserID}
}

// readablePackages drops the private packages of ps the request's
// principal may not read (its token's scope may not cover them all).
func (s *Service) readablePackages(ctx context.Context, ps []*trove.Package) ([]*trove.Package, error) {
	out := ps[:0]
	for _, p := range ps {
		ok, err := s.mayRead(ctx, p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// as returns ctx carrying who as its principal when ctx carries none and
// who is someone: changes made for a principal read packages as it.
func as(ctx context.Context, who *access.Principal) context.Context {
	if who == nil || access.PrincipalFrom(ctx) != nil {
		return ctx
	}
	return access.WithPrincipal(ctx, who)
}

// A SetAccess makes the package private or public: an owner's settings
// change (the owners action). It is logged as an "access" record whose
// message is "private" or "public"; a package made private has its
// records from then on written salted (translog.Event.Salt).
type SetAccess struct{ Private bool }

func (c SetAccess) describe() (string, access.Action, string) { return "access", access.Owners, "" }
func (c SetAccess) check() error                              { return nil }

func (c SetAccess) apply(b *batch, _ *trove.Release, ev *translog.Event) error {
	if b.pkg.Private == c.Private {
		return errNoChange
	}
	if b.pkg.Upstream {
		return trove.Error(trove.ErrInvalid, "%s is imported from upstream registries: it cannot be made private here", b.pkg.DisplayName)
	}
	if err := uploadOnly(b.who); err != nil {
		return err
	}
	if err := b.tx.SetPackagePrivate(b.ctx, b.pkg.ID, c.Private); err != nil {
		return err
	}
	b.pkg.Private = c.Private
	msg := "public"
	if c.Private {
		msg = "private"
	}
	ev.Message = &msg
	return nil
}

// SetPrivate makes a package private or public; see [SetAccess].
func (s *Service) SetPrivate(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, private bool) error {
	return s.Apply(ctx, who, eco, name, SetAccess{Private: private})
}

// saltFor salts ev when it is about a private package (read within tx).
func saltFor(ctx context.Context, tx *meta.Tx, ev *translog.Event) error {
	pkg, err := tx.Package(ctx, trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name))
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if pkg.Private && ev.Salt == "" {
		ev.Salt = translog.NewSalt()
	}
	return nil
}

// SetOrgPrivate sets whether the organisation's new packages start
// private (its existing packages keep their access: SetPrivate changes
// them one by one). Its owners and administrators change it.
func (s *Service) SetOrgPrivate(ctx context.Context, who *access.Principal, org string, private bool) error {
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		return tx.SetOrgPrivateDefault(ctx, o.ID, private)
	})
}
