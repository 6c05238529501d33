package meta

import (
	"context"
	"database/sql"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A ReleaseDependency is a dependency recorded for one release.
type ReleaseDependency struct {
	ReleaseID  int64
	Ecosystem  trove.Ecosystem
	Name       trove.Name
	Constraint string
}

// PackageDependencies returns the dependencies recorded for every release
// of the package, by release and name.
func (q q) PackageDependencies(ctx context.Context, packageID int64) ([]ReleaseDependency, error) {
	rows, err := q.query(ctx, `SELECT d.release_id, d.ecosystem, d.name, d.constraint_text FROM dependencies d
		JOIN releases r ON r.id = d.release_id WHERE r.package_id = ? ORDER BY d.release_id, d.name, d.constraint_text`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (ReleaseDependency, error) {
		var d ReleaseDependency
		err := s.Scan(&d.ReleaseID, &d.Ecosystem, &d.Name, &d.Constraint)
		return d, err
	})
}

// A VersionLogEntry is a transparency log record about one version.
type VersionLogEntry struct {
	Version string
	trove.LogEntry
}

// PackageLogEntries returns the log records about every version of
// (ecosystem, name), oldest first.
func (q q) PackageLogEntries(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name) ([]VersionLogEntry, error) {
	rows, err := q.query(ctx, `SELECT version, record_id, kind FROM log_index WHERE ecosystem = ? AND name = ? ORDER BY record_id`,
		ecosystem, name)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (VersionLogEntry, error) {
		var e VersionLogEntry
		err := s.Scan(&e.Version, &e.ID, &e.Kind)
		return e, err
	})
}

// A Listing is a package with its newest visible release: what search
// and lists of packages show.
type Listing struct {
	Ecosystem   trove.Ecosystem
	Name        trove.Name
	DisplayName string
	Upstream    bool
	Version     string
	State       trove.State
	Metadata    []byte // the release's, owned by its adapter
	PublishedAt time.Time
}

const listingSelect = `SELECT p.ecosystem, p.name, p.display_name, p.upstream, r.version, r.state, r.metadata, r.published_at
	FROM packages p JOIN releases r ON r.id = (SELECT MAX(r2.id) FROM releases r2
		WHERE r2.package_id = p.id AND r2.state IN ('published', 'yanked'))`

func scanListing(s interface{ Scan(...any) error }) (Listing, error) {
	var l Listing
	var up int64
	var md string
	var published sql.NullInt64
	err := s.Scan(&l.Ecosystem, &l.Name, &l.DisplayName, &up, &l.Version, &l.State, &md, &published)
	l.Upstream, l.Metadata, l.PublishedAt = up != 0, []byte(md), timeOf(published)
	return l, err
}

// EachListing calls fn with every public package that has a visible
// release, in no particular order, stopping at fn's first error.
func (q q) EachListing(ctx context.Context, fn func(Listing) error) error {
	rows, err := q.query(ctx, listingSelect+` WHERE p.private = 0`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return q.err(rows.Err())
}

// Listing returns the listing of one package; ErrNotFound when it has no
// visible release.
func (q q) Listing(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name) (Listing, error) {
	l, err := scanListing(q.row(ctx, listingSelect+` WHERE p.ecosystem = ? AND p.name = ?`, ecosystem, name))
	return l, q.err(err)
}

// A RecentRelease is a release as the home page lists it.
type RecentRelease struct {
	Ecosystem   trove.Ecosystem
	Name        trove.Name
	DisplayName string
	Version     string
	PublishedAt time.Time
	Upstream    bool
}

// RecentReleases returns the limit most recently published releases of
// public packages that are still published, newest first.
func (q q) RecentReleases(ctx context.Context, limit int) ([]RecentRelease, error) {
	rows, err := q.query(ctx, `SELECT p.ecosystem, p.name, p.display_name, r.version, r.published_at, p.upstream
		FROM releases r JOIN packages p ON p.id = r.package_id
		WHERE r.state = 'published' AND p.private = 0 ORDER BY r.published_at DESC, r.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (RecentRelease, error) {
		var r RecentRelease
		var published sql.NullInt64
		var up int64
		err := s.Scan(&r.Ecosystem, &r.Name, &r.DisplayName, &r.Version, &published, &up)
		r.PublishedAt, r.Upstream = timeOf(published), up != 0
		return r, err
	})
}

// A Count is how many packages and visible releases an ecosystem has.
type Count struct {
	Ecosystem trove.Ecosystem
	Packages  int64
	Releases  int64
}

// Counts returns the counts of public packages and their visible
// releases, of every ecosystem with one.
func (q q) Counts(ctx context.Context) ([]Count, error) {
	rows, err := q.query(ctx, `SELECT p.ecosystem, COUNT(DISTINCT p.id), COUNT(*)
		FROM releases r JOIN packages p ON p.id = r.package_id
		WHERE r.state IN ('published', 'yanked') AND p.private = 0 GROUP BY p.ecosystem ORDER BY p.ecosystem`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (Count, error) {
		var c Count
		err := s.Scan(&c.Ecosystem, &c.Packages, &c.Releases)
		return c, err
	})
}
