package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A Hold is an upload held for review: its release, or the files it added
// to a visible release, stays quarantined until an administrator releases
// or rejects it.
type Hold struct {
	ReleaseID int64
	// Reason is "burst" (the worm guard), "scan" (a scanner's verdict) or
	// HoldPending (a scan not finished yet).
	Reason string
	// Message is what the publisher was told.
	Message string
	// Tags and Lines are the upload's dist-tags and ecosystem lines, for
	// the publish record written when it is released.
	Tags, Lines []string
	At          time.Time
}

// A HeldRelease is a hold with what it is about, for listings.
type HeldRelease struct {
	Hold
	Ecosystem   trove.Ecosystem
	Name        trove.Name
	DisplayName string
	Version     string
	Publisher   string // the publisher's user name, "" if unknown
	TokenID     int64  // the token it was published with, 0 for none
	Token       string // that token's public id, "" if none or erased
}

// InsertHold records h. A release already held keeps its first hold
// (files added to a held release are held with it).
func (tx *Tx) InsertHold(ctx context.Context, h *Hold) error {
	_, err := tx.exec(ctx, `INSERT INTO held_releases (release_id, reason, message, tags, lines, held_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (release_id) DO NOTHING`, h.ReleaseID, h.Reason, h.Message, marshalStrings(h.Tags), marshalStrings(h.Lines), h.At.UnixMicro())
	return err
}

// DeleteHold removes the hold of a release; ErrNotFound if there is none.
func (tx *Tx) DeleteHold(ctx context.Context, releaseID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM held_releases WHERE release_id = ?`, releaseID))
}

// HoldOf returns the hold of a release, ErrNotFound if it is not held.
func (q q) HoldOf(ctx context.Context, releaseID int64) (*Hold, error) {
	var h Hold
	var tags, lines string
	var at int64
	err := q.row(ctx, `SELECT release_id, reason, message, tags, lines, held_at FROM held_releases WHERE release_id = ?`, releaseID).
		Scan(&h.ReleaseID, &h.Reason, &h.Message, &tags, &lines, &at)
	if err != nil {
		return nil, q.err(err)
	}
	if h.Tags, err = unmarshalStrings(tags); err != nil {
		return nil, fmt.Errorf("hold of release %d: tags: %w", releaseID, err)
	}
	if h.Lines, err = unmarshalStrings(lines); err != nil {
		return nil, fmt.Errorf("hold of release %d: lines: %w", releaseID, err)
	}
	h.At = time.UnixMicro(at).UTC()
	return &h, nil
}

// HoldPending is the reason of a hold that waits for the scanners that
// did not finish during the upload (docs/scanning.md): the scan job
// decides it, not an administrator.
const HoldPending = "scanning"

// UpdateHold changes the reason and message of a release's hold;
// ErrNotFound if there is none.
func (tx *Tx) UpdateHold(ctx context.Context, releaseID int64, reason, message string) error {
	return affected(tx.exec(ctx, `UPDATE held_releases SET reason = ?, message = ? WHERE release_id = ?`, reason, message, releaseID))
}

// HeldReleases returns up to limit holds, oldest first.
func (q q) HeldReleases(ctx context.Context, limit int) ([]*HeldRelease, error) {
	return q.heldReleases(ctx, ``, nil, limit)
}

// PendingScans returns up to limit holds waiting for the scan job
// (reason HoldPending), oldest first.
func (q q) PendingScans(ctx context.Context, limit int) ([]*HeldRelease, error) {
	return q.heldReleases(ctx, `WHERE h.reason = ?`, []any{HoldPending}, limit)
}

func (q q) heldReleases(ctx context.Context, where string, args []any, limit int) ([]*HeldRelease, error) {
	rows, err := q.query(ctx, `SELECT h.release_id, h.reason, h.message, h.tags, h.lines, h.held_at,
		p.ecosystem, p.name, p.display_name, r.version, COALESCE(u.name, ''), COALESCE(r.token_id, 0), COALESCE(t.public_id, '')
		FROM held_releases h JOIN releases r ON r.id = h.release_id JOIN packages p ON p.id = r.package_id
		LEFT JOIN users u ON u.id = r.publisher_id LEFT JOIN tokens t ON t.id = r.token_id
		`+where+` ORDER BY h.held_at, h.release_id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*HeldRelease, error) {
		var h HeldRelease
		var tags, lines string
		var at int64
		if err := s.Scan(&h.ReleaseID, &h.Reason, &h.Message, &tags, &lines, &at,
			&h.Ecosystem, &h.Name, &h.DisplayName, &h.Version, &h.Publisher, &h.TokenID, &h.Token); err != nil {
			return nil, err
		}
		var err error
		if h.Tags, err = unmarshalStrings(tags); err != nil {
			return nil, err
		}
		if h.Lines, err = unmarshalStrings(lines); err != nil {
			return nil, err
		}
		h.At = time.UnixMicro(at).UTC()
		return &h, nil
	})
}

// A Credential names what published a release, for the worm guard: an
// API token, (TokenID 0) the user's other credentials together, or
// (Minted) every token the user's trusted publishers minted together: each
// of those covers one package, so one by one they would never add up.
type Credential struct {
	TokenID int64
	UserID  int64
	Minted  bool
}

// key is the credential's name in LockCredential.
func (c Credential) key() string {
	switch {
	case c.Minted:
		return fmt.Sprintf("minted:%d", c.UserID)
	case c.TokenID != 0:
		return fmt.Sprintf("token:%d", c.TokenID)
	}
	return fmt.Sprintf("user:%d", c.UserID)
}

// PackagesPublishedBy returns the distinct packages (up to limit) of the
// releases the credential published since the time (exclusive), among
// those decided: visible (in any state but quarantined) or held. Uploads
// still being scanned are not counted; their own decision, taken later
// under LockCredential, counts this one.
func (q q) PackagesPublishedBy(ctx context.Context, c Credential, since time.Time, limit int) ([]int64, error) {
	who, args := `token_id = ?`, []any{c.TokenID}
	switch {
	case c.Minted:
		who, args = `publisher_id = ? AND token_id IN (SELECT id FROM tokens WHERE user_id = ? AND publisher_id <> 0)`, []any{c.UserID, c.UserID}
	case c.TokenID == 0:
		who, args = `publisher_id = ? AND token_id IS NULL`, []any{c.UserID}
	}
	rows, err := q.query(ctx, `SELECT DISTINCT package_id FROM releases r WHERE `+who+` AND created_at > ?
		AND (state <> ? OR EXISTS (SELECT 1 FROM held_releases h WHERE h.release_id = r.id))
		ORDER BY package_id LIMIT ?`, append(args, since.UnixMicro(), trove.Quarantined, limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		err := s.Scan(&id)
		return id, err
	})
}
