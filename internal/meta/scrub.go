package meta

import (
	"context"

	"github.com/trove-dev/trove/internal/trove"
)

// A StoredFile names a visible file's blobs, for checking stored bytes.
type StoredFile struct {
	ID             int64
	Ecosystem      string
	Package        string
	Filename       string
	Size           int64
	SHA256         string
	MetadataSHA256 string
}

// VisibleFilesAfter returns up to limit files in state published or
// yanked, or quarantined by an administrator (suspended: they may be
// released), whose id is above afterID, in id order: a scrub reads them a
// page at a time, holding no transaction open while it checks blobs.
func (q q) VisibleFilesAfter(ctx context.Context, afterID int64, limit int) ([]StoredFile, error) {
	rows, err := q.query(ctx, `SELECT f.id, p.ecosystem, p.name, f.filename, f.size, f.sha256, f.metadata_sha256
		FROM files f JOIN packages p ON p.id = f.package_id
		WHERE f.id > ? AND f.state IN (?, ?, ?) ORDER BY f.id LIMIT ?`, afterID, trove.Published, trove.Yanked, trove.Suspended, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (StoredFile, error) {
		var f StoredFile
		err := s.Scan(&f.ID, &f.Ecosystem, &f.Package, &f.Filename, &f.Size, &f.SHA256, &f.MetadataSHA256)
		return f, err
	})
}
