package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// MaxDependents bounds the dependents a View lists.
const MaxDependents = 200

// A View is everything a package page shows, read in one snapshot:
// every release that was ever published (deleted ones as tombstones),
// their files with every digest, the owners, the dependencies recorded at
// publish, the transparency log records about each version, and the
// packages that depend on this one.
type View struct {
	Package  *trove.Package
	Releases []*ReleaseView // newest first
	Tags     []trove.Tag
	// Owners are names only: a page shows an email address only where
	// its owner made it public (trove.User.PublicEmail).
	Owners []Owner
	// Org is the organisation the package belongs to ("" for none): its
	// owners own the package too (docs/roles.md).
	Org        string
	Dependents []meta.Dependent // up to MaxDependents, by name
}

// An Owner is an owner as a public page may show them.
type Owner struct {
	Name  string
	Email string // "" unless the owner made it public
}

// A ReleaseView is one release with what belongs to it.
type ReleaseView struct {
	*trove.Release
	Files        []*trove.File
	Dependencies []meta.ReleaseDependency
	Log          []trove.LogEntry // oldest first
}

// Latest returns the newest published release, or else the newest
// visible one, or nil.
func (v *View) Latest() *ReleaseView {
	for _, tag := range v.Tags {
		if tag.Tag == "latest" {
			for _, r := range v.Releases {
				if r.ID == tag.ReleaseID && r.State.Visible() {
					return r
				}
			}
		}
	}
	var visible *ReleaseView
	for _, r := range v.Releases {
		if r.State == trove.Published {
			return r
		}
		if visible == nil && r.State.Visible() {
			visible = r
		}
	}
	return visible
}

// View returns what a package page shows. A package without any visible
// release is ErrNotFound, as for Project; quarantined releases and their
// files are never part of it.
func (s *Service) View(ctx context.Context, eco trove.Ecosystem, name string) (*View, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return nil, err
	}
	if err := s.CanRead(ctx, eco, n); errors.Is(err, trove.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "package %s not found", name)
	} else if err != nil {
		return nil, err
	}
	v := &View{}
	err = s.db.Snapshot(ctx, func(q *meta.Snapshot) error { return readView(ctx, q, eco, n, v) })
	if errors.Is(err, meta.ErrNotFound) || err == nil && v.Latest() == nil {
		return nil, trove.Error(trove.ErrNotFound, "package %s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading package %s: %w", name, err)
	}
	return v, nil
}

func readView(ctx context.Context, q *meta.Snapshot, eco trove.Ecosystem, n trove.Name, v *View) error {
	pkg, err := q.Package(ctx, eco, n)
	if err != nil {
		return err
	}
	v.Package = pkg
	rels, err := q.Releases(ctx, pkg.ID)
	if err != nil {
		return err
	}
	byID := make(map[int64]*ReleaseView)
	byVersion := make(map[string]*ReleaseView)
	for i := len(rels) - 1; i >= 0; i-- {
		if rels[i].State == trove.Quarantined {
			continue
		}
		rv := &ReleaseView{Release: rels[i]}
		v.Releases = append(v.Releases, rv)
		byID[rv.ID], byVersion[rv.Version] = rv, rv
	}
	if err := readViewFiles(ctx, q, pkg, byID); err != nil {
		return err
	}
	deps, err := q.PackageDependencies(ctx, pkg.ID)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if rv := byID[d.ReleaseID]; rv != nil {
			rv.Dependencies = append(rv.Dependencies, d)
		}
	}
	entries, err := q.PackageLogEntries(ctx, eco, pkg.Name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if rv := byVersion[e.Version]; rv != nil {
			rv.Log = append(rv.Log, e.LogEntry)
		}
	}
	return readViewPeople(ctx, q, pkg, v)
}

func readViewFiles(ctx context.Context, q *meta.Snapshot, pkg *trove.Package, byID map[int64]*ReleaseView) error {
	files, err := q.Files(ctx, pkg.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		if rv := byID[f.ReleaseID]; rv != nil && f.State != trove.Quarantined {
			rv.Files = append(rv.Files, f)
		}
	}
	return nil
}

func readViewPeople(ctx context.Context, q *meta.Snapshot, pkg *trove.Package, v *View) error {
	var err error
	if v.Tags, err = q.DistTags(ctx, pkg.ID); err != nil {
		return err
	}
	owners, err := q.Owners(ctx, pkg.ID)
	if err != nil {
		return err
	}
	if pkg.OrgID != 0 {
		org, err := q.OrgByID(ctx, pkg.OrgID)
		if err != nil {
			return err
		}
		v.Org = org.Name
	}
	for _, u := range owners {
		o := Owner{Name: u.Name}
		if u.PublicEmail {
			o.Email = u.Email
		}
		v.Owners = append(v.Owners, o)
	}
	v.Dependents, err = q.Dependents(ctx, pkg.Ecosystem, pkg.Name, MaxDependents)
	return err
}

// Listings calls fn with every package that has a visible release and
// its newest visible release (for search indexes).
func (s *Service) Listings(ctx context.Context, fn func(meta.Listing) error) error {
	return s.db.EachListing(ctx, fn)
}

// Listing returns one package's listing; ErrNotFound without a visible
// release.
func (s *Service) Listing(ctx context.Context, eco trove.Ecosystem, name trove.Name) (meta.Listing, error) {
	if err := s.CanRead(ctx, eco, name); err != nil {
		return meta.Listing{}, err
	}
	l, err := s.db.Listing(ctx, eco, name)
	if errors.Is(err, meta.ErrNotFound) {
		return l, trove.Error(trove.ErrNotFound, "package %s not found", name)
	}
	return l, err
}

// Summary is what the home page counts and lists.
type Summary struct {
	Counts []meta.Count
	Recent []meta.RecentRelease
}

// Summary returns the counts per ecosystem and the limit most recent
// releases.
func (s *Service) Summary(ctx context.Context, limit int) (*Summary, error) {
	sum := &Summary{}
	err := s.db.Snapshot(ctx, func(q *meta.Snapshot) error {
		var err error
		if sum.Counts, err = q.Counts(ctx); err != nil {
			return err
		}
		sum.Recent, err = q.RecentReleases(ctx, limit)
		return err
	})
	return sum, err
}

// DependencyTargets returns the packages that the releases of (eco,
// name) depend on: the pages listing their dependents change with it.
func (s *Service) DependencyTargets(ctx context.Context, eco trove.Ecosystem, name trove.Name) ([]trove.Name, error) {
	pkg, err := s.db.Package(ctx, eco, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	deps, err := s.db.PackageDependencies(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	seen := make(map[trove.Name]bool)
	var out []trove.Name
	for _, d := range deps {
		if d.Ecosystem == eco && !seen[d.Name] {
			seen[d.Name] = true
			out = append(out, d.Name)
		}
	}
	return out, nil
}
