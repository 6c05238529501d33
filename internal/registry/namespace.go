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

// A Namespace is the namespace a package name is in, as its ecosystem's
// Namespacer computes it.
//
// # Who may create a package in a namespace
//
// Namespaces are not claimed on their own: they are owned through their
// packages. A new package may be created in a namespace by an
// administrator, or by a user who owns the packages there:
//
//   - Flat namespaces (npm scopes): a scope is claimed by the first
//     package published in it, and afterwards only users who own a package
//     of the scope (its first publisher, and whoever the owners add) may
//     create new packages in it. A scope named after a user (User) is that
//     user's from the start.
//   - Trees (Go module paths, without their major version suffix): the
//     owners of a module own every path below it and its major versions. A
//     new module needs its publisher to own the nearest modules at or above
//     its path, and every module below it: no one can publish a module
//     inside, beside or above someone else's.
//
// Reservations (Config.Reserved) come first: a name that matches one may
// be created only by an administrator or one of the users it names.
type Namespace struct {
	// Key identifies the namespace, already folded ("@acme",
	// "example.com/lib"); "" means the name is in no namespace.
	Key string
	// User, when not "", is the user the namespace belongs to if that user
	// exists (npm's @alice is the user alice's).
	User string
	// Tree reports that keys nest by "/": a namespace's owners own the
	// namespaces below it.
	Tree bool
}

// A Namespacer is the optional part of an ecosystem's Rules for
// ecosystems with owned namespaces (npm scopes, Go module paths).
type Namespacer interface {
	// Namespace returns the namespace of a normalized name.
	Namespace(n trove.Name) Namespace
}

// A Reservation keeps the names a pattern matches for some users, or
// for an organisation: only they, and administrators, may create packages
// that match it.
type Reservation struct {
	Pattern access.Pattern
	// Owners are the user names who may; none (and no Org) means
	// administrators only.
	Owners []string
	// Org, if not "", is the organisation whose maintainers and owners
	// may: the packages created under the reservation belong to it.
	Org string
}

// namespaceOf returns the namespace of a name under its rules.
func namespaceOf(rules Rules, n trove.Name) Namespace {
	if ns, ok := rules.(Namespacer); ok {
		return ns.Namespace(n)
	}
	return Namespace{}
}

// nsReader is what the namespace checks read; meta's DB and Tx have it.
type nsReader interface {
	PackagesBySkeleton(ctx context.Context, eco trove.Ecosystem, skeleton string) ([]*trove.Package, error)
	PackagesInNamespaces(ctx context.Context, eco trove.Ecosystem, keys []string) ([]*trove.Package, error)
	PackagesBelowNamespace(ctx context.Context, eco trove.Ecosystem, key string) ([]*trove.Package, error)
	IsOwner(ctx context.Context, packageID, userID int64) (bool, error)
	UserByName(ctx context.Context, name string) (*trove.User, error)
	orgReader
}

// checkCreate applies the reservations and the namespace rules to the
// creation of a package by who. It runs before anything is written and
// again inside the transaction that creates the package. It returns the
// organisation the new package belongs to (nil for none): the one of the
// reservation or the npm scope it is created in.
func (s *Service) checkCreate(ctx context.Context, q nsReader, who *access.Principal, rules Rules, name trove.Name) (*trove.Org, error) {
	org, done, err := s.checkReserved(ctx, q, rules, name, who)
	if err != nil || done {
		return org, err
	}
	ns := namespaceOf(rules, name)
	if ns.Key == "" {
		return nil, nil
	}
	eco := rules.Ecosystem()
	if ns.Tree {
		if who.Admin {
			return nil, nil
		}
		return nil, checkTree(ctx, q, who, eco, name, ns)
	}
	return checkScope(ctx, q, who, eco, name, ns)
}

// checkReserved refuses a name a reservation keeps for other users; done
// reports that a reservation decided (the namespace rules do not apply).
func (s *Service) checkReserved(ctx context.Context, q nsReader, rules Rules, name trove.Name, who *access.Principal) (org *trove.Org, done bool, err error) {
	key := trove.Name(rules.Fold(string(name)))
	for _, r := range s.reserved {
		if !r.Pattern.Match(rules.Ecosystem(), key) {
			continue
		}
		if r.Org != "" {
			org, err := orgPublisher(ctx, q, who, r.Org, fmt.Sprintf("%s:%s is reserved for the organisation %s (%s)", rules.Ecosystem(), name, r.Org, r.Pattern))
			return org, true, err
		}
		if who.Admin {
			return nil, true, nil
		}
		for _, o := range r.Owners {
			if strings.EqualFold(o, who.UserName) {
				return nil, true, nil
			}
		}
		return nil, true, trove.Error(access.ErrDenied, "%s:%s is reserved by this registry's configuration (%s): only its designated owners and administrators may publish it",
			rules.Ecosystem(), name, r.Pattern)
	}
	return nil, false, s.checkReservedLookalike(ctx, q, rules, name, who)
}

// checkReservedLookalike refuses a name that no reservation matches but
// that looks like names one keeps: its skeleton matches the pattern whose
// literal parts are replaced by their skeletons ("npm:@acrne/*" looks like
// "npm:@acme/*", "pypi:dj4ngo" does not but "pypi:djang0" looks like
// "pypi:django"). Those the reservation is for may create such names.
func (s *Service) checkReservedLookalike(ctx context.Context, q nsReader, rules Rules, name trove.Name, who *access.Principal) error {
	sk := rules.Skeleton(name)
	if sk == "" || who.Admin {
		return nil
	}
	for _, r := range s.reserved {
		p, ok := skeletonPattern(rules, r.Pattern)
		if !ok || !p.Match(rules.Ecosystem(), trove.Name(sk)) {
			continue
		}
		if ok, err := mayCreateReserved(ctx, q, r, who); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		return trove.Error(access.ErrDenied, "package name %q is too similar to the names reserved by this registry's configuration (%s), which only their designated owners and administrators may publish; choose another name",
			name, r.Pattern)
	}
	return nil
}

// skeletonPattern returns a reservation's pattern with each literal part
// replaced by its skeleton under rules; ok is false for a pattern of
// another ecosystem, or for "*".
func skeletonPattern(rules Rules, p access.Pattern) (_ access.Pattern, ok bool) {
	eco, glob, ok := strings.Cut(string(p), ":")
	if !ok || eco != string(rules.Ecosystem()) {
		return "", false
	}
	parts := strings.Split(glob, "*")
	for i, part := range parts {
		if part != "" {
			parts[i] = rules.Skeleton(trove.Name(part))
		}
	}
	return access.Pattern(eco + ":" + strings.Join(parts, "*")), true
}

// mayCreateReserved reports whether who is one of those a reservation
// keeps its names for (administrators are, but are not asked here).
func mayCreateReserved(ctx context.Context, q nsReader, r Reservation, who *access.Principal) (bool, error) {
	if r.Org != "" {
		_, err := orgPublisher(ctx, q, who, r.Org, "")
		if errors.Is(err, access.ErrDenied) {
			return false, nil
		}
		return err == nil, err
	}
	for _, o := range r.Owners {
		if strings.EqualFold(o, who.UserName) {
			return true, nil
		}
	}
	return false, nil
}

// orgPublisher returns the organisation named org if who may create
// packages in its namespaces: an administrator, or a member whose role is
// maintainer or owner. why says whose namespace it is, for the refusal.
func orgPublisher(ctx context.Context, q orgReader, who *access.Principal, org, why string) (*trove.Org, error) {
	o, err := q.OrgByName(ctx, org)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(access.ErrDenied, "%s, which does not exist yet: an administrator must create it first", why)
	}
	if err != nil || who.Admin {
		return o, err
	}
	role, err := q.OrgRole(ctx, o.ID, who.UserID)
	if err != nil {
		return nil, err
	}
	if role != access.Owner.String() && role != access.Maintainer.String() {
		return nil, trove.Error(access.ErrDenied, "%s: only its maintainers and owners may create packages there (ask an owner of %s for the role maintainer)", why, o.Name)
	}
	return o, nil
}

// checkScope applies the rules of flat namespaces.
func checkScope(ctx context.Context, q nsReader, who *access.Principal, eco trove.Ecosystem, name trove.Name, ns Namespace) (*trove.Org, error) {
	pkgs, err := q.PackagesInNamespaces(ctx, eco, []string{ns.Key})
	if err != nil {
		return nil, err
	}
	// A scope named after an organisation is the organisation's, unless
	// packages of others claimed it before the organisation existed.
	if ns.User != "" {
		o, err := q.OrgByName(ctx, strings.ToLower(ns.User))
		switch {
		case err == nil && orgHolds(o, pkgs):
			return orgPublisher(ctx, q, who, o.Name, fmt.Sprintf("%s belongs to the organisation %s", ns.Key, o.Name))
		case err != nil && !errors.Is(err, meta.ErrNotFound):
			return nil, err
		}
	}
	if who.Admin {
		return nil, nil
	}
	return nil, checkClaim(ctx, q, who, name, ns, pkgs)
}

// orgHolds reports whether every package is the organisation's.
func orgHolds(o *trove.Org, pkgs []*trove.Package) bool {
	for _, p := range pkgs {
		if p.OrgID != o.ID {
			return false
		}
	}
	return true
}

// checkClaim applies the rules of scopes claimed by users.
func checkClaim(ctx context.Context, q nsReader, who *access.Principal, name trove.Name, ns Namespace, pkgs []*trove.Package) error {
	owns, err := ownsAny(ctx, q, who, pkgs)
	if err != nil || owns {
		return err
	}
	if ns.User != "" && !strings.EqualFold(ns.User, who.UserName) {
		_, err := q.UserByName(ctx, strings.ToLower(ns.User))
		switch {
		case err == nil:
			return trove.Error(access.ErrDenied, "%s belongs to the user %s: only they, and the owners they add to its packages, may publish new packages in it",
				ns.Key, ns.User)
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
	}
	if len(pkgs) > 0 {
		return trove.Error(access.ErrDenied, "%s is claimed: only owners of its packages may publish new packages in it (ask one to add you as an owner of one of its packages); %s was not published",
			ns.Key, name)
	}
	return nil
}

// checkTree applies the rules of nested namespaces: who must own the
// nearest packages at or above the name's namespace, and every package
// below it.
func checkTree(ctx context.Context, q nsReader, who *access.Principal, eco trove.Ecosystem, name trove.Name, ns Namespace) error {
	var above []string
	for k := ns.Key; ; {
		above = append(above, k)
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	pkgs, err := q.PackagesInNamespaces(ctx, eco, above)
	if err != nil {
		return err
	}
	nearest := ""
	for _, p := range pkgs {
		if len(p.Namespace) > len(nearest) {
			nearest = p.Namespace
		}
	}
	below, err := q.PackagesBelowNamespace(ctx, eco, ns.Key)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		if p.Namespace == nearest {
			below = append(below, p)
		}
	}
	for _, p := range below {
		owner, err := q.IsOwner(ctx, p.ID, who.UserID)
		if err != nil {
			return err
		}
		if !owner {
			return trove.Error(access.ErrDenied, "%s is inside, beside or above %s, which %s does not own: only the owners of a module publish modules at, below or above its path; %s was not published",
				name, p.DisplayName, who.UserName, name)
		}
	}
	return nil
}

// ownsAny reports whether who owns one of the packages.
func ownsAny(ctx context.Context, q nsReader, who *access.Principal, pkgs []*trove.Package) (bool, error) {
	for _, p := range pkgs {
		owner, err := q.IsOwner(ctx, p.ID, who.UserID)
		if err != nil || owner {
			return owner, err
		}
	}
	return false, nil
}

// rekey recomputes the skeleton and namespace of every package whose
// rules now compute them differently (rules that learned confusable
// characters, or namespaces, after the package was created), so that the
// look-alike and namespace checks compare like with like. It reads every
// package once, in one pass over the table, at every start.
func (s *Service) rekey(ctx context.Context) error {
	var stale []*trove.Package
	err := s.db.EachPackage(ctx, func(p *trove.Package) error {
		rules := s.rules[p.Ecosystem]
		if rules == nil {
			return nil // an ecosystem this server does not serve
		}
		sk, ns := rules.Skeleton(p.Name), namespaceOf(rules, p.Name).Key
		if sk != p.Skeleton || ns != p.Namespace {
			p.Skeleton, p.Namespace = sk, ns
			stale = append(stale, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading package keys: %w", err)
	}
	for _, p := range stale {
		err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetPackageKeys(ctx, p.ID, p.Skeleton, p.Namespace) })
		if err != nil {
			return fmt.Errorf("updating the keys of %s %s: %w", p.Ecosystem, p.Name, err)
		}
	}
	return nil
}
