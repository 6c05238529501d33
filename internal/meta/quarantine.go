package meta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A Quarantine is an administrator's quarantine of a release that was
// visible: it is Suspended until it is released (back to PriorState) or
// taken down.
type Quarantine struct {
	ReleaseID  int64
	PriorState trove.State // Published or Yanked
	Reason     string
	By         string // the administrator's user name
	At         time.Time
}

// A QuarantinedRelease is a quarantine with what it is about, for listings.
type QuarantinedRelease struct {
	Quarantine
	Ecosystem   trove.Ecosystem
	Name        trove.Name
	DisplayName string
	Version     string
	Private     bool
}

// Quarantine takes the visible release rel out of view: Suspended, with
// its files, remembering its state. A release that is not visible is
// ErrConflict.
func (tx *Tx) Quarantine(ctx context.Context, rel *trove.Release, reason, by string, at time.Time) error {
	if !rel.State.Visible() {
		return fmt.Errorf("%w: release %d is %s, not visible", ErrConflict, rel.ID, rel.State)
	}
	if err := tx.SetReleaseState(ctx, rel.ID, rel.State, trove.Suspended, at); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO quarantined_releases (release_id, prior_state, reason, quarantined_by, quarantined_at) VALUES (?, ?, ?, ?, ?)`,
		rel.ID, rel.State, reason, by, at.UnixMicro())
	return err
}

// Unquarantine puts a quarantined release, and its files, back in the
// state they were in, and returns it. A release not quarantined is
// ErrNotFound.
func (tx *Tx) Unquarantine(ctx context.Context, releaseID int64) (trove.State, error) {
	qr, err := tx.QuarantineOf(ctx, releaseID)
	if err != nil {
		return "", err
	}
	if err := tx.SetReleaseState(ctx, releaseID, trove.Suspended, qr.PriorState, qr.At); err != nil {
		return "", err
	}
	return qr.PriorState, affected(tx.exec(ctx, `DELETE FROM quarantined_releases WHERE release_id = ?`, releaseID))
}

// EndQuarantine forgets the quarantine of a release that is being taken
// down; a release not quarantined is no error.
func (tx *Tx) EndQuarantine(ctx context.Context, releaseID int64) error {
	err := affected(tx.exec(ctx, `DELETE FROM quarantined_releases WHERE release_id = ?`, releaseID))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// QuarantineOf returns the quarantine of a release, ErrNotFound if it is
// not quarantined.
func (q q) QuarantineOf(ctx context.Context, releaseID int64) (*Quarantine, error) {
	var qr Quarantine
	var at int64
	err := q.row(ctx, `SELECT release_id, prior_state, reason, quarantined_by, quarantined_at FROM quarantined_releases WHERE release_id = ?`, releaseID).
		Scan(&qr.ReleaseID, &qr.PriorState, &qr.Reason, &qr.By, &at)
	if err != nil {
		return nil, q.err(err)
	}
	qr.At = time.UnixMicro(at).UTC()
	return &qr, nil
}

// QuarantinedReleases returns up to limit quarantined releases, oldest
// quarantine first.
func (q q) QuarantinedReleases(ctx context.Context, limit int) ([]*QuarantinedRelease, error) {
	rows, err := q.query(ctx, `SELECT qr.release_id, qr.prior_state, qr.reason, qr.quarantined_by, qr.quarantined_at,
		p.ecosystem, p.name, p.display_name, r.version, p.private
		FROM quarantined_releases qr JOIN releases r ON r.id = qr.release_id JOIN packages p ON p.id = r.package_id
		ORDER BY qr.quarantined_at, qr.release_id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*QuarantinedRelease, error) {
		var qr QuarantinedRelease
		var at int64
		var private int64
		if err := s.Scan(&qr.ReleaseID, &qr.PriorState, &qr.Reason, &qr.By, &at,
			&qr.Ecosystem, &qr.Name, &qr.DisplayName, &qr.Version, &private); err != nil {
			return nil, err
		}
		qr.At, qr.Private = time.UnixMicro(at).UTC(), private != 0
		return &qr, nil
	})
}
