package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// A Project is everything visible about a package, read in one snapshot:
// what an adapter needs to render its metadata documents.
type Project struct {
	Package  *trove.Package
	Releases []*trove.Release // published and yanked, oldest first
	Files    []*trove.File    // published and yanked files of those releases
	Tags     []trove.Tag
	Owners   []*trove.User
}

// FilesOf returns the project's files of one release.
func (p *Project) FilesOf(releaseID int64) []*trove.File {
	var out []*trove.File
	for _, f := range p.Files {
		if f.ReleaseID == releaseID {
			out = append(out, f)
		}
	}
	return out
}

// Project returns the visible state of a package. A package without any
// visible release is ErrNotFound, exactly as one that does not exist.
func (s *Service) Project(ctx context.Context, eco trove.Ecosystem, name string) (*Project, error) {
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return nil, err
	}
	p := &Project{}
	err = s.db.Snapshot(ctx, func(q *meta.Snapshot) error {
		pkg, err := q.Package(ctx, eco, n)
		if err != nil {
			return err
		}
		if ok, err := s.mayRead(ctx, pkg); err != nil || !ok {
			return cmp.Or(err, meta.ErrNotFound)
		}
		p.Package = pkg
		rels, err := q.Releases(ctx, pkg.ID)
		if err != nil {
			return err
		}
		for _, r := range rels {
			if r.State.Visible() {
				p.Releases = append(p.Releases, r)
			}
		}
		files, err := q.Files(ctx, pkg.ID)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f.State.Visible() {
				p.Files = append(p.Files, f)
			}
		}
		if p.Tags, err = q.DistTags(ctx, pkg.ID); err != nil {
			return err
		}
		p.Owners, err = q.Owners(ctx, pkg.ID)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) || err == nil && len(p.Releases) == 0 {
		return nil, trove.Error(trove.ErrNotFound, "package %s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading package %s: %w", name, err)
	}
	return p, nil
}

// Packages returns the ecosystem's public packages that have a visible
// release (a list shared by every reader, such as PyPI's project index:
// private packages are found by name only).
func (s *Service) Packages(ctx context.Context, eco trove.Ecosystem) ([]*trove.Package, error) {
	return s.db.Packages(ctx, eco, meta.Viewer{})
}

// Search returns up to limit visible packages whose name contains text,
// after skipping offset, and the total number of matches: public
// packages, and the private ones the request may read.
func (s *Service) Search(ctx context.Context, eco trove.Ecosystem, text string, limit, offset int) ([]*trove.Package, int, error) {
	ps, total, err := s.db.SearchPackages(ctx, eco, text, limit, offset, viewer(ctx))
	if err != nil {
		return nil, 0, err
	}
	n := len(ps)
	if ps, err = s.readablePackages(ctx, ps); err != nil {
		return nil, 0, err
	}
	return ps, total - (n - len(ps)), nil
}

// File returns a visible file of a package by its filename, marked
// Private if the package is. Results are cached until the package
// changes, so a download costs no query.
func (s *Service) File(ctx context.Context, eco trove.Ecosystem, name trove.Name, filename string) (*trove.File, error) {
	notFound := trove.Error(trove.ErrNotFound, "file %s of %s not found", filename, name)
	if err := s.CanRead(ctx, eco, name); errors.Is(err, trove.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	k := fileKey{eco, name, filename}
	s.mu.RLock()
	f, ok := s.files[k]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return f, nil
	}
	pkg, err := s.db.Package(ctx, eco, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	f, err = s.db.File(ctx, pkg.ID, filename)
	if errors.Is(err, meta.ErrNotFound) || err == nil && !f.State.Visible() {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	f.Private = pkg.Private
	s.mu.Lock()
	if s.gen == gen { // no change raced with the lookup
		if len(s.files) > 200_000 {
			clear(s.files)
		}
		s.files[k] = f
	}
	s.mu.Unlock()
	return f, nil
}

// Open returns the bytes of a blob from offset off. Adapters open only
// digests of visible files (or their metadata), found through File or Project.
func (s *Service) Open(ctx context.Context, d blob.Digest, off int64) (io.ReadCloser, error) {
	rc, err := s.blobs.Open(ctx, d, off)
	return rc, blobError(d, err)
}

// blobError explains why a blob of a visible file cannot be read.
func blobError(d blob.Digest, err error) error {
	if errors.Is(err, blob.ErrNotFound) {
		// A visible file whose blob is gone is a storage fault, not a 404.
		return fmt.Errorf("blob %s of a visible file is missing: %w", d, err)
	}
	if errors.Is(err, blob.ErrDamaged) {
		return fmt.Errorf("the stored file with sha256 %s is damaged and out of service until an administrator restores it (trove fsck lists damaged files): %w", d, err)
	}
	return err
}

// LogEntries returns the transparency log records about a package version
// (its publish, and any later yank, deprecation or deletion), oldest first.
// The name and version are normalized with the ecosystem's rules, so
// "Demo" 1.0 finds the records of "demo" 1.0.0.
func (s *Service) LogEntries(ctx context.Context, eco trove.Ecosystem, name, version string) ([]trove.LogEntry, error) {
	_, n, key, err := s.parse(eco, name, version)
	if err != nil {
		return nil, err
	}
	notFound := trove.Error(trove.ErrNotFound, "no log records about %s %s", name, version)
	pkg, err := s.db.Package(ctx, eco, n)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if ok, err := s.mayRead(ctx, pkg); err != nil || !ok {
		return nil, cmp.Or(err, notFound)
	}
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) || err == nil && rel.State == trove.Quarantined {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	entries, err := s.db.LogEntries(ctx, eco, pkg.Name, rel.Version)
	if err == nil && len(entries) == 0 {
		return nil, notFound
	}
	return entries, err
}

// Deleted reports whether a version of a package was deleted: it is a
// tombstone, gone for good (HTTP 410), rather than never published.
func (s *Service) Deleted(ctx context.Context, eco trove.Ecosystem, name, version string) (bool, error) {
	_, n, key, err := s.parse(eco, name, version)
	if err != nil || key == "" {
		return false, nil
	}
	pkg, err := s.db.Package(ctx, eco, n)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ok, err := s.mayRead(ctx, pkg); err != nil || !ok {
		return false, err
	}
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rel.State == trove.Deleted, nil
}
