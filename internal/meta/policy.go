package meta

import (
	"context"
	"errors"

	"github.com/trove-dev/trove/internal/trove"
)

// A PackagePolicy is a package's own publishing policy (table
// package_policies). The zero value, for a package without a row, has no
// override and is not critical.
type PackagePolicy struct {
	// PublishAuth is the level the package's owners asked for; it only
	// ever raises the registry's default (AuthNone: no override).
	PublishAuth trove.AuthLevel
	// Marked is an administrator's critical mark.
	Marked bool
	// Ranked is set by the critical job for the top packages by downloads.
	Ranked bool
	// TrustedOnly refuses publishing with tokens that none of the
	// package's trusted publishers minted.
	TrustedOnly bool
}

// Critical reports whether the package is critical, marked or ranked.
func (p PackagePolicy) Critical() bool { return p.Marked || p.Ranked }

// PackagePolicy returns the package's policy, the zero value if it has none.
func (q q) PackagePolicy(ctx context.Context, packageID int64) (PackagePolicy, error) {
	var p PackagePolicy
	var marked, ranked, trusted int
	err := q.err(q.row(ctx, `SELECT publish_auth, marked, ranked, trusted_only FROM package_policies WHERE package_id = ?`, packageID).
		Scan(&p.PublishAuth, &marked, &ranked, &trusted))
	if errors.Is(err, ErrNotFound) {
		return PackagePolicy{}, nil
	}
	p.Marked, p.Ranked, p.TrustedOnly = marked != 0, ranked != 0, trusted != 0
	return p, err
}

// SetPublishAuth records the package's own publishing level.
func (tx *Tx) SetPublishAuth(ctx context.Context, packageID int64, l trove.AuthLevel) error {
	_, err := tx.exec(ctx, `INSERT INTO package_policies (package_id, publish_auth) VALUES (?, ?)
		ON CONFLICT (package_id) DO UPDATE SET publish_auth = excluded.publish_auth`, packageID, int(l))
	return err
}

// SetCriticalMark sets or clears an administrator's critical mark.
func (tx *Tx) SetCriticalMark(ctx context.Context, packageID int64, marked bool) error {
	_, err := tx.exec(ctx, `INSERT INTO package_policies (package_id, marked) VALUES (?, ?)
		ON CONFLICT (package_id) DO UPDATE SET marked = excluded.marked`, packageID, boolInt(marked))
	return err
}

// SetRanked makes ids the set of packages ranked critical by downloads and
// returns those of them that were not ranked before.
func (tx *Tx) SetRanked(ctx context.Context, ids []int64) ([]int64, error) {
	was := map[int64]bool{}
	rows, err := tx.query(ctx, `SELECT package_id FROM package_policies WHERE ranked = 1`)
	if err != nil {
		return nil, err
	}
	old, err := collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		return id, s.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range old {
		was[id] = true
	}
	var added []int64
	keep := map[int64]bool{}
	for _, id := range ids {
		keep[id] = true
		if was[id] {
			continue
		}
		added = append(added, id)
		if _, err := tx.exec(ctx, `INSERT INTO package_policies (package_id, ranked) VALUES (?, 1)
			ON CONFLICT (package_id) DO UPDATE SET ranked = 1`, id); err != nil {
			return nil, err
		}
	}
	for _, id := range old {
		if !keep[id] {
			if _, err := tx.exec(ctx, `UPDATE package_policies SET ranked = 0 WHERE package_id = ?`, id); err != nil {
				return nil, err
			}
		}
	}
	return added, nil
}

// CriticalPackages returns the ids of the packages marked or ranked critical.
func (q q) CriticalPackages(ctx context.Context) ([]int64, error) {
	rows, err := q.query(ctx, `SELECT package_id FROM package_policies WHERE marked = 1 OR ranked = 1 ORDER BY package_id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		return id, s.Scan(&id)
	})
}

// A DownloadCount is a number of downloads of a package on a day (Unix
// days, UTC), or over days.
type DownloadCount struct {
	PackageID int64
	Day       int64
	Count     int64
}

// AddDownloads adds each count to its package's day, in one statement per
// package and day.
func (tx *Tx) AddDownloads(ctx context.Context, counts []DownloadCount) error {
	for _, c := range counts {
		if _, err := tx.exec(ctx, `INSERT INTO package_downloads (package_id, day, count) VALUES (?, ?, ?)
			ON CONFLICT (package_id, day) DO UPDATE SET count = package_downloads.count + excluded.count`,
			c.PackageID, c.Day, c.Count); err != nil {
			return err
		}
	}
	return nil
}

// DownloadTotals returns every local package's downloads from day from
// onwards, most downloaded first (Day is zero). Packages imported from
// upstreams have no maintainers and are left out.
func (q q) DownloadTotals(ctx context.Context, from int64) ([]DownloadCount, error) {
	rows, err := q.query(ctx, `SELECT d.package_id, SUM(d.count) AS n FROM package_downloads d
		JOIN packages p ON p.id = d.package_id WHERE d.day >= ? AND p.upstream = 0
		GROUP BY d.package_id ORDER BY n DESC, d.package_id`, from)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (DownloadCount, error) {
		var c DownloadCount
		return c, s.Scan(&c.PackageID, &c.Count)
	})
}

// Downloads returns the package's downloads from day from onwards.
func (q q) Downloads(ctx context.Context, packageID, from int64) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COALESCE(SUM(count), 0) FROM package_downloads WHERE package_id = ? AND day >= ?`, packageID, from).Scan(&n)
	return n, q.err(err)
}

// PruneDownloads deletes the counts of days before day before.
func (tx *Tx) PruneDownloads(ctx context.Context, before int64) error {
	_, err := tx.exec(ctx, `DELETE FROM package_downloads WHERE day < ?`, before)
	return err
}

// CountLocalPackages returns how many packages were published here (not
// imported from upstreams).
func (q q) CountLocalPackages(ctx context.Context) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COUNT(*) FROM packages WHERE upstream = 0`).Scan(&n)
	return n, q.err(err)
}

// PackageByID returns the package with the id.
func (q q) PackageByID(ctx context.Context, id int64) (*trove.Package, error) {
	p, err := scanPackage(q.row(ctx, `SELECT `+packageCols+` FROM packages WHERE id = ?`, id))
	return p, q.err(err)
}
