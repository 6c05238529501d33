package meta

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const releaseCols = `id, package_id, version, version_key, state, metadata, publisher_id, created_at, published_at, yanked_reason, deprecated, deleted_at, source, auth_level, token_id`

func scanRelease(s interface{ Scan(...any) error }) (*trove.Release, error) {
	var r trove.Release
	var md string
	var publisher sql.NullInt64
	var created int64
	var published, deleted, token sql.NullInt64
	if err := s.Scan(&r.ID, &r.PackageID, &r.Version, &r.VersionKey, &r.State, &md, &publisher, &created, &published,
		&r.YankedReason, &r.Deprecated, &deleted, &r.Source, &r.AuthLevel, &token); err != nil {
		return nil, err
	}
	r.TokenID = token.Int64
	r.Metadata = []byte(md)
	r.PublisherID = publisher.Int64
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.PublishedAt, r.DeletedAt = timeOf(published), timeOf(deleted)
	return &r, nil
}

// InsertRelease adds r and sets r.ID. A taken (package, version key) is
// ErrConflict, whatever the state of the release holding it.
func (tx *Tx) InsertRelease(ctx context.Context, r *trove.Release) error {
	var publisher, token any
	if r.PublisherID != 0 {
		publisher = r.PublisherID
	}
	if r.TokenID != 0 {
		token = r.TokenID
	}
	id, err := tx.insert(ctx, `INSERT INTO releases (package_id, version, version_key, state, metadata, publisher_id, created_at, published_at, source, auth_level, token_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.PackageID, r.Version, r.VersionKey, r.State, string(r.Metadata), publisher, r.CreatedAt.UnixMicro(), micros(r.PublishedAt), r.Source, int(r.AuthLevel), token)
	r.ID = id
	return err
}

// Release returns the package's release with the version key, in any state.
func (q q) Release(ctx context.Context, packageID int64, versionKey string) (*trove.Release, error) {
	r, err := scanRelease(q.row(ctx, `SELECT `+releaseCols+` FROM releases WHERE package_id = ? AND version_key = ?`, packageID, versionKey))
	return r, q.err(err)
}

// Releases returns all of the package's releases in every state, oldest first.
func (q q) Releases(ctx context.Context, packageID int64) ([]*trove.Release, error) {
	rows, err := q.query(ctx, `SELECT `+releaseCols+` FROM releases WHERE package_id = ? ORDER BY id`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanRelease)
}

// SetReleaseState moves a release, and its files in state from, to state
// to. publishedAt is recorded when non-zero.
func (tx *Tx) SetReleaseState(ctx context.Context, releaseID int64, from, to trove.State, at time.Time) error {
	var err error
	switch to {
	case trove.Published:
		err = affected(tx.exec(ctx, `UPDATE releases SET state = ?, published_at = COALESCE(published_at, ?) WHERE id = ? AND state = ?`,
			to, at.UnixMicro(), releaseID, from))
	case trove.Deleted:
		err = affected(tx.exec(ctx, `UPDATE releases SET state = ?, deleted_at = ? WHERE id = ? AND state = ?`,
			to, at.UnixMicro(), releaseID, from))
	default:
		err = affected(tx.exec(ctx, `UPDATE releases SET state = ? WHERE id = ? AND state = ?`, to, releaseID, from))
	}
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE files SET state = ? WHERE release_id = ? AND state = ?`, to, releaseID, from)
	return err
}

// SetYankedReason records why a release was yanked.
func (tx *Tx) SetYankedReason(ctx context.Context, releaseID int64, reason string) error {
	return affected(tx.exec(ctx, `UPDATE releases SET yanked_reason = ? WHERE id = ?`, reason, releaseID))
}

// SetDeprecated sets a release's deprecation message ("" removes it).
func (tx *Tx) SetDeprecated(ctx context.Context, releaseID int64, msg string) error {
	return affected(tx.exec(ctx, `UPDATE releases SET deprecated = ? WHERE id = ?`, msg, releaseID))
}

// DiscardQuarantined removes the release's files that never became
// visible, and the release itself if it never became visible either, so
// that their version and filenames stay free; a package left without any
// release goes too, with its owners, so that a refused upload claims no
// name (nor namespace). Visible rows are untouched.
//
// It locks the package's row first, so that a concurrent upload to the
// package either finds it gone or is counted before it goes.
func (tx *Tx) DiscardQuarantined(ctx context.Context, releaseID int64) error {
	var pkgID int64
	err := tx.err(tx.row(ctx, `SELECT package_id FROM releases WHERE id = ?`, releaseID).Scan(&pkgID))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil {
		err = tx.LockPackage(ctx, pkgID)
	}
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM files WHERE release_id = ? AND state = ?`, releaseID, trove.Quarantined); err != nil {
		return err
	}
	// A hold is on the quarantined files, which are gone.
	if _, err := tx.exec(ctx, `DELETE FROM held_releases WHERE release_id = ?`, releaseID); err != nil {
		return err
	}
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM files WHERE release_id = ?`, releaseID).Scan(&n); err != nil {
		return tx.err(err)
	}
	if n > 0 {
		return nil // the release has visible files: keep it
	}
	var packageID int64
	err = tx.row(ctx, `SELECT package_id FROM releases WHERE id = ? AND state = ?`, releaseID, trove.Quarantined).Scan(&packageID)
	if err := tx.err(err); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM dependencies WHERE release_id = ?`, releaseID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM scan_results WHERE release_id = ?`, releaseID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM releases WHERE id = ?`, releaseID); err != nil {
		return err
	}
	if err := tx.row(ctx, `SELECT COUNT(*) FROM releases WHERE package_id = ?`, packageID).Scan(&n); err != nil || n > 0 {
		return tx.err(err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM owners WHERE package_id = ?`, packageID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM team_grants WHERE package_id = ?`, packageID); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `DELETE FROM packages WHERE id = ?`, packageID)
	return err
}

const fileCols = `id, release_id, package_id, filename, kind, state, size, sha256, sha512, sha1, blake2b_256, md5, metadata_sha256, attrs, created_at`

func scanFile(s interface{ Scan(...any) error }) (*trove.File, error) {
	var f trove.File
	var attrs string
	var created int64
	if err := s.Scan(&f.ID, &f.ReleaseID, &f.PackageID, &f.Filename, &f.Kind, &f.State, &f.Size, &f.SHA256, &f.SHA512,
		&f.SHA1, &f.Blake2b256, &f.MD5, &f.MetadataSHA256, &attrs, &created); err != nil {
		return nil, err
	}
	f.Attrs = []byte(attrs)
	f.CreatedAt = time.UnixMicro(created).UTC()
	return &f, nil
}

// InsertFile adds f and sets f.ID. A filename the package has used before,
// in any state, is ErrConflict.
func (tx *Tx) InsertFile(ctx context.Context, f *trove.File) error {
	attrs := string(f.Attrs)
	if attrs == "" {
		attrs = "{}"
	}
	id, err := tx.insert(ctx, `INSERT INTO files (release_id, package_id, filename, kind, state, size, sha256, sha512, sha1,
		blake2b_256, md5, metadata_sha256, attrs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ReleaseID, f.PackageID, f.Filename, f.Kind, f.State, f.Size, f.SHA256, f.SHA512, f.SHA1, f.Blake2b256, f.MD5,
		f.MetadataSHA256, attrs, f.CreatedAt.UnixMicro())
	f.ID = id
	return err
}

// SetFileState moves one file from state from to state to.
func (tx *Tx) SetFileState(ctx context.Context, fileID int64, from, to trove.State) error {
	return affected(tx.exec(ctx, `UPDATE files SET state = ? WHERE id = ? AND state = ?`, to, fileID, from))
}

// Files returns all of the package's files in every state, oldest first.
func (q q) Files(ctx context.Context, packageID int64) ([]*trove.File, error) {
	rows, err := q.query(ctx, `SELECT `+fileCols+` FROM files WHERE package_id = ? ORDER BY id`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanFile)
}

// File returns the package's file with the filename, in any state.
func (q q) File(ctx context.Context, packageID int64, filename string) (*trove.File, error) {
	f, err := scanFile(q.row(ctx, `SELECT `+fileCols+` FROM files WHERE package_id = ? AND filename = ?`, packageID, filename))
	return f, q.err(err)
}

// QuarantinedBefore returns the ids of releases with quarantined files
// created before t, except those held for review.
func (q q) QuarantinedBefore(ctx context.Context, t time.Time) ([]int64, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT release_id FROM files WHERE state = ? AND created_at < ?
		AND release_id NOT IN (SELECT release_id FROM held_releases) ORDER BY release_id`,
		trove.Quarantined, t.UnixMicro())
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		err := s.Scan(&id)
		return id, err
	})
}
