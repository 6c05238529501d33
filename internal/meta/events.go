package meta

import (
	"context"
	"strings"
	"time"
)

// A SecurityEvent is a stored security event on an account.
type SecurityEvent struct {
	ID       int64
	UserID   int64
	UserName string // filled by reads
	Kind     string
	Detail   string
	Client   string
	At       time.Time
}

// InsertSecurityEvent stores e and sets e.ID.
func (tx *Tx) InsertSecurityEvent(ctx context.Context, e *SecurityEvent) error {
	id, err := tx.insert(ctx, `INSERT INTO security_events (user_id, kind, detail, client, at) VALUES (?, ?, ?, ?, ?)`,
		e.UserID, e.Kind, e.Detail, e.Client, e.At.UnixMicro())
	e.ID = id
	return err
}

func scanSecurityEvent(s interface{ Scan(...any) error }) (*SecurityEvent, error) {
	var e SecurityEvent
	var at int64
	err := s.Scan(&e.ID, &e.UserID, &e.UserName, &e.Kind, &e.Detail, &e.Client, &at)
	e.At = time.UnixMicro(at).UTC()
	return &e, err
}

const eventCols = `e.id, e.user_id, u.name, e.kind, e.detail, e.client, e.at`

// SecurityEvents returns up to limit of the user's events, newest first.
func (q q) SecurityEvents(ctx context.Context, userID int64, limit int) ([]*SecurityEvent, error) {
	rows, err := q.query(ctx, `SELECT `+eventCols+` FROM security_events e JOIN users u ON u.id = e.user_id
		WHERE e.user_id = ? ORDER BY e.id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSecurityEvent)
}

// An EventFilter selects security events across accounts: those of one
// user (UserID 0: every user), of one kind ("" every kind), older than
// the event Before (0: from the newest).
type EventFilter struct {
	UserID int64
	Kind   string
	Before int64
}

// RecentSecurityEvents returns up to limit events that pass the filter,
// newest first.
func (q q) RecentSecurityEvents(ctx context.Context, f EventFilter, limit int) ([]*SecurityEvent, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.UserID != 0 {
		where, args = append(where, "e.user_id = ?"), append(args, f.UserID)
	}
	if f.Kind != "" {
		where, args = append(where, "e.kind = ?"), append(args, f.Kind)
	}
	if f.Before != 0 {
		where, args = append(where, "e.id < ?"), append(args, f.Before)
	}
	rows, err := q.query(ctx, `SELECT `+eventCols+` FROM security_events e JOIN users u ON u.id = e.user_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY e.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSecurityEvent)
}

// SeeDevice records that the user signed in from device at now and
// reports whether the device was new to the account.
func (tx *Tx) SeeDevice(ctx context.Context, userID int64, device string, now time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE known_devices SET last_seen = ? WHERE user_id = ? AND device = ?`, now.UnixMicro(), userID, device)
	if err := affected(res, err); err == nil {
		return false, nil
	} else if err != ErrNotFound {
		return false, err
	}
	_, err = tx.exec(ctx, `INSERT INTO known_devices (user_id, device, first_seen, last_seen) VALUES (?, ?, ?, ?)`,
		userID, device, now.UnixMicro(), now.UnixMicro())
	return err == nil, err
}

// KnownDeviceCount returns how many devices the user signed in from.
func (q q) KnownDeviceCount(ctx context.Context, userID int64) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM known_devices WHERE user_id = ?`, userID).Scan(&n)
	return n, q.err(err)
}

// NotifyCursor returns the serial of the change feed the notifier called
// name has handled, 0 at first.
func (q q) NotifyCursor(ctx context.Context, name string) (int64, error) {
	var n int64
	err := q.err(q.row(ctx, `SELECT serial FROM notify_cursors WHERE name = ?`+q.d.forUpdate, name).Scan(&n))
	if err == ErrNotFound {
		return 0, nil
	}
	return n, err
}

// SetNotifyCursor records that the notifier called name has handled the
// change feed up to serial.
func (tx *Tx) SetNotifyCursor(ctx context.Context, name string, serial int64) error {
	_, err := tx.exec(ctx, `INSERT INTO notify_cursors (name, serial) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET serial = excluded.serial`, name, serial)
	return tx.err(err)
}

// A PublishedRelease is a version published by a "publish" change.
type PublishedRelease struct {
	Version   string
	Publisher string // user name; "" if unknown
}

// PublishedReleases returns the versions of the package published at
// exactly at (the time of a "publish" change), with their publishers.
func (q q) PublishedReleases(ctx context.Context, packageID int64, at time.Time) ([]PublishedRelease, error) {
	rows, err := q.query(ctx, `SELECT r.version, COALESCE(u.name, '') FROM releases r LEFT JOIN users u ON u.id = r.publisher_id
		WHERE r.package_id = ? AND r.published_at = ? ORDER BY r.id`, packageID, at.UnixMicro())
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (PublishedRelease, error) {
		var r PublishedRelease
		return r, s.Scan(&r.Version, &r.Publisher)
	})
}
