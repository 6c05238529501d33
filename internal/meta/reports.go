package meta

import (
	"context"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A Report is a user's report that a package, or one version of it, is
// malicious or otherwise abusive (docs/scanning.md, Reports).
type Report struct {
	ID        int64
	UserID    int64
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Version   string // "" for the whole package
	Category  string
	Reason    string
	At        time.Time
}

// InsertReport records an open report and returns its id. A user's second
// open report on the same target is ErrConflict.
func (tx *Tx) InsertReport(ctx context.Context, r *Report) (int64, error) {
	return tx.insert(ctx, `INSERT INTO reports (user_id, ecosystem, name, version, category, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.UserID, r.Ecosystem, r.Name, r.Version, r.Category, r.Reason, r.At.UnixMicro())
}

// A ReportedTarget is a package or release with open reports, for the
// administrators' queue.
type ReportedTarget struct {
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Version   string
	Count     int       // open reports
	First     time.Time // the oldest open report
	// Categories and Reasons are those of the open reports (up to the
	// limit given), oldest first; Reporters their users' names.
	Categories, Reasons, Reporters []string
}

// OpenReports returns the targets with open reports, oldest first (up to
// limit targets), each with at most perTarget of its reports.
func (q q) OpenReports(ctx context.Context, limit, perTarget int) ([]*ReportedTarget, error) {
	rows, err := q.query(ctx, `SELECT ecosystem, name, version, COUNT(*), MIN(created_at) FROM reports WHERE closed_as = ''
		GROUP BY ecosystem, name, version ORDER BY MIN(created_at), ecosystem, name, version LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(s interface{ Scan(...any) error }) (*ReportedTarget, error) {
		var t ReportedTarget
		var first int64
		if err := s.Scan(&t.Ecosystem, &t.Name, &t.Version, &t.Count, &first); err != nil {
			return nil, err
		}
		t.First = time.UnixMicro(first).UTC()
		return &t, nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range out {
		rows, err := q.query(ctx, `SELECT r.category, r.reason, u.name FROM reports r JOIN users u ON u.id = r.user_id
			WHERE r.closed_as = '' AND r.ecosystem = ? AND r.name = ? AND r.version = ? ORDER BY r.created_at, r.id LIMIT ?`,
			t.Ecosystem, t.Name, t.Version, perTarget)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c, r, u string
			if err := rows.Scan(&c, &r, &u); err != nil {
				rows.Close()
				return nil, err
			}
			t.Categories, t.Reasons, t.Reporters = append(t.Categories, c), append(t.Reasons, r), append(t.Reporters, u)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CloseReports closes the open reports on a release and, when
// withPackage, those on its whole package too (version ""), as closedAs
// by the administrator; it returns the ids of the users whose reports it
// closed.
func (tx *Tx) CloseReports(ctx context.Context, eco trove.Ecosystem, name trove.Name, version string, withPackage bool, closedAs, by string, at time.Time) ([]int64, error) {
	cond, args := `version = ?`, []any{eco, name, version}
	if withPackage && version != "" {
		cond, args = `(version = ? OR version = ?)`, []any{eco, name, version, ""}
	}
	rows, err := tx.query(ctx, `SELECT DISTINCT user_id FROM reports WHERE closed_as = '' AND ecosystem = ? AND name = ? AND `+cond+` ORDER BY user_id`, args...)
	if err != nil {
		return nil, err
	}
	users, err := collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		err := s.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, err
	}
	_, err = tx.exec(ctx, `UPDATE reports SET closed_as = ?, closed_by = ?, closed_at = ? WHERE closed_as = '' AND ecosystem = ? AND name = ? AND `+cond,
		append([]any{closedAs, by, at.UnixMicro()}, args...)...)
	return users, err
}

// An Advisory is a release an administrator took down as malicious,
// published as an OSV record MAL-<year of Published>-<ID>.
type Advisory struct {
	ID        int64
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Version   string
	Summary   string
	Published time.Time
	Modified  time.Time
	Withdrawn time.Time // zero unless the takedown was withdrawn
}

// PutAdvisory records an advisory about a release, or, if the release has
// one (withdrawn or not), makes it current again with the new summary.
func (tx *Tx) PutAdvisory(ctx context.Context, a *Advisory) error {
	_, err := tx.exec(ctx, `INSERT INTO advisories (ecosystem, name, version, summary, published_at, modified_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (ecosystem, name, version) DO UPDATE SET summary = excluded.summary, modified_at = excluded.modified_at, withdrawn_at = 0`,
		a.Ecosystem, a.Name, a.Version, a.Summary, a.Published.UnixMicro(), a.Modified.UnixMicro())
	return err
}

// WithdrawAdvisory withdraws the advisory about a release, if it has a
// current one; it reports whether it had.
func (tx *Tx) WithdrawAdvisory(ctx context.Context, eco trove.Ecosystem, name trove.Name, version string, at time.Time) (bool, error) {
	err := affected(tx.exec(ctx, `UPDATE advisories SET withdrawn_at = ?, modified_at = ? WHERE ecosystem = ? AND name = ? AND version = ? AND withdrawn_at = 0`,
		at.UnixMicro(), at.UnixMicro(), eco, name, version))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Advisories returns up to limit advisories of public packages, by id.
func (q q) Advisories(ctx context.Context, limit int) ([]*Advisory, error) {
	rows, err := q.query(ctx, `SELECT a.id, a.ecosystem, a.name, a.version, a.summary, a.published_at, a.modified_at, a.withdrawn_at
		FROM advisories a WHERE NOT EXISTS (SELECT 1 FROM packages p WHERE p.ecosystem = a.ecosystem AND p.name = a.name AND p.private <> 0)
		ORDER BY a.id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*Advisory, error) {
		var a Advisory
		var pub, mod, wd int64
		if err := s.Scan(&a.ID, &a.Ecosystem, &a.Name, &a.Version, &a.Summary, &pub, &mod, &wd); err != nil {
			return nil, err
		}
		a.Published, a.Modified = time.UnixMicro(pub).UTC(), time.UnixMicro(mod).UTC()
		if wd != 0 {
			a.Withdrawn = time.UnixMicro(wd).UTC()
		}
		return &a, nil
	})
}
