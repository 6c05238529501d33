package registry

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// MaxUpstreamLookups bounds the new dependencies of one release that
// scanQuarantined asks the upstream registries about; the others are looked
// up here only.
const MaxUpstreamLookups = 32

// An UpstreamProxier is the optional part of Upstreams that tells
// whether an ecosystem has an upstream at all: only then can a name that
// no upstream has be called missing.
type UpstreamProxier interface {
	Proxies(eco trove.Ecosystem) bool
}

// addHistory gives the artifact of a quarantined release what the
// scanners that compare releases need, all read from the database (so it
// serves an upload being scanned and a held release scanned again
// alike): the package's previous release (Previous), the publisher's
// history (Publisher; nil for an import, Release.Source set) and what is
// known of the dependencies the previous release did not have.
func (s *Service) addHistory(ctx context.Context, a *scan.Artifact, res *Result) error {
	rels, err := s.db.Releases(ctx, res.Package.ID)
	if err != nil {
		return err
	}
	deps, err := s.db.PackageDependencies(ctx, res.Package.ID)
	if err != nil {
		return err
	}
	if a.Previous, err = s.previous(ctx, res, rels, deps); err != nil {
		return err
	}
	imported := res.Release.Source != ""
	if !imported {
		if a.Publisher, err = s.publisher(ctx, res, rels); err != nil {
			return err
		}
	}
	a.Dependencies, err = s.newDependencies(ctx, res, deps, a.Previous, !imported)
	return err
}

// previous returns the release an upload follows, as scanners see it:
// the package's latest published release by its ecosystem's rule (npm's
// latest tag: the highest version that is not a prerelease), else the
// most recently published one; nil for none. Its files read the stored
// blobs; its dependencies have names only.
func (s *Service) previous(ctx context.Context, res *Result, rels []*trove.Release, deps []meta.ReleaseDependency) (*scan.Artifact, error) {
	var (
		byVersion = map[string]*trove.Release{}
		versions  []string
		prev      *trove.Release
	)
	for _, r := range rels {
		if r.ID == res.Release.ID || r.State != trove.Published {
			continue
		}
		byVersion[r.Version] = r
		versions = append(versions, r.Version)
		if prev == nil || r.PublishedAt.After(prev.PublishedAt) {
			prev = r
		}
	}
	if t, ok := s.rules[res.Package.Ecosystem].(Tagger); ok {
		if r := byVersion[t.Latest(versions)]; r != nil {
			prev = r
		}
	}
	if prev == nil {
		return nil, nil
	}
	a := &scan.Artifact{Ecosystem: string(res.Package.Ecosystem), Name: string(res.Package.Name), Version: prev.Version, Metadata: prev.Metadata}
	files, err := s.db.Files(ctx, res.Package.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.ReleaseID == prev.ID && f.State == trove.Published {
			a.Files = append(a.Files, scan.File{Name: f.Filename, Size: f.Size,
				Content: &blobReaderAt{ctx: ctx, blobs: s.blobs, digest: blob.Digest(f.SHA256)}})
		}
	}
	for _, d := range deps {
		if d.ReleaseID == prev.ID && d.Ecosystem == res.Package.Ecosystem {
			a.Dependencies = append(a.Dependencies, scan.Dependency{Name: string(d.Name)})
		}
	}
	return a, nil
}

// publisher returns the release's publisher as scanners see them:
// whether they published the package before, and for how long they have
// held a role on it; nil when the release has no known publisher.
func (s *Service) publisher(ctx context.Context, res *Result, rels []*trove.Release) (*scan.Publisher, error) {
	id := res.Release.PublisherID
	if id == 0 {
		return nil, nil
	}
	user, err := s.db.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &scan.Publisher{Name: user.Name, FirstRelease: true}
	for _, r := range rels {
		if r.ID != res.Release.ID && r.PublisherID == id && (r.State == trove.Published || r.State == trove.Yanked) {
			p.FirstRelease = false
		}
	}
	since, err := s.db.RoleSince(ctx, res.Package.ID, id)
	if err != nil || since.IsZero() {
		return p, err
	}
	p.RoleAge = max(now(s).Sub(since), 1)
	return p, nil
}

// newDependencies returns the release's dependencies (as recorded when
// it was quarantined), with what this registry (and, for up to
// MaxUpstreamLookups of them, its upstreams) knows of those prev did not
// have. Nothing is looked up without a previous release (there is
// nothing to compare), nor for an import (lookup false): an upstream's
// releases depend on the upstream's packages, and asking the upstream
// about each would multiply the cost of every proxied fetch.
func (s *Service) newDependencies(ctx context.Context, res *Result, deps []meta.ReleaseDependency, prev *scan.Artifact, lookup bool) ([]scan.Dependency, error) {
	eco := res.Package.Ecosystem
	proxied := false
	if p, ok := s.upstreams.(UpstreamProxier); ok {
		proxied = p.Proxies(eco)
	}
	var out []scan.Dependency
	asked := 0
	for _, d := range deps {
		if d.ReleaseID != res.Release.ID || d.Ecosystem != eco {
			continue
		}
		dep := scan.Dependency{Name: string(d.Name)}
		if !lookup || prev == nil || slices.ContainsFunc(prev.Dependencies, func(p scan.Dependency) bool { return p.Name == dep.Name }) ||
			slices.ContainsFunc(out, func(p scan.Dependency) bool { return p.Name == dep.Name }) {
			out = append(out, dep)
			continue
		}
		pkg, err := s.db.Package(ctx, eco, d.Name)
		switch {
		case err == nil && !pkg.Upstream:
			dep.Age = max(now(s).Sub(pkg.CreatedAt), 1)
		case err == nil:
			// An upstream package: its age here is when it was first
			// fetched, not how old it is.
		case !errors.Is(err, meta.ErrNotFound):
			return nil, err
		case proxied && asked < MaxUpstreamLookups:
			asked++
			exists, err := s.upstreams.Exists(ctx, eco, d.Name)
			// An upstream that cannot answer leaves the name unknown, not
			// missing: an outage upstream must not hold every release.
			dep.Missing = err == nil && !exists
		}
		out = append(out, dep)
	}
	return out, nil
}

// blobReaderAt reads a stored blob at random; each ReadAt opens it at
// its offset.
type blobReaderAt struct {
	ctx    context.Context
	blobs  blob.Store
	digest blob.Digest
}

func (b *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rc, err := b.blobs.Open(b.ctx, b.digest, off)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}
