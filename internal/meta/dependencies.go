package meta

import (
	"context"

	"github.com/trove-dev/trove/internal/trove"
)

// A Dependency is a package a release depends on, with the version
// constraint written for it ("" for any version).
type Dependency struct {
	Name       trove.Name
	Constraint string
}

// InsertDependencies records that the release depends on the packages
// deps of the ecosystem. Repeated entries are recorded once.
func (tx *Tx) InsertDependencies(ctx context.Context, releaseID int64, eco trove.Ecosystem, deps []Dependency) error {
	for _, d := range deps {
		if _, err := tx.exec(ctx, `INSERT INTO dependencies (release_id, ecosystem, name, constraint_text) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			releaseID, eco, d.Name, d.Constraint); err != nil {
			return err
		}
	}
	return nil
}

// A Dependent is another package whose visible release depends on a
// package, with the constraint it wrote.
type Dependent struct {
	DisplayName string
	Constraint  string
}

// Dependents returns up to limit dependencies on the package (ecosystem,
// name) that other public packages' visible releases declare, by package
// name.
func (q q) Dependents(ctx context.Context, eco trove.Ecosystem, name trove.Name, limit int) ([]Dependent, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT p.name, p.display_name, d.constraint_text FROM dependencies d
		JOIN releases r ON r.id = d.release_id JOIN packages p ON p.id = r.package_id
		WHERE d.ecosystem = ? AND d.name = ? AND p.name <> ? AND r.state IN ('published', 'yanked') AND p.private = 0
		ORDER BY p.name LIMIT ?`, eco, name, name, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (Dependent, error) {
		var n string
		var d Dependent
		err := s.Scan(&n, &d.DisplayName, &d.Constraint)
		return d, err
	})
}
