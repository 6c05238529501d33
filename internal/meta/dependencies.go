package meta

import (
	"context"

	"github.com/trove-dev/trove/internal/trove"
)

// InsertDependencies records that the release depends on the packages
// (ecosystem, name) of names. Repeated names are recorded once.
func (tx *Tx) InsertDependencies(ctx context.Context, releaseID int64, eco trove.Ecosystem, names []trove.Name) error {
	for _, n := range names {
		if _, err := tx.exec(ctx, `INSERT INTO dependencies (release_id, ecosystem, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			releaseID, eco, n); err != nil {
			return err
		}
	}
	return nil
}

// Dependents returns up to limit display names of other packages that
// have a visible release depending on the package (ecosystem, name), by name.
func (q q) Dependents(ctx context.Context, eco trove.Ecosystem, name trove.Name, limit int) ([]string, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT p.name, p.display_name FROM dependencies d
		JOIN releases r ON r.id = d.release_id JOIN packages p ON p.id = r.package_id
		WHERE d.ecosystem = ? AND d.name = ? AND p.name <> ? AND r.state IN ('published', 'yanked')
		ORDER BY p.name LIMIT ?`, eco, name, name, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
		var n, display string
		err := s.Scan(&n, &display)
		return display, err
	})
}
