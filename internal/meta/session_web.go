package meta

import (
	"context"
	"database/sql"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A WebSession is a browser session of the web interface. Only the hash
// of the cookie's secret is stored.
type WebSession struct {
	ID         int64
	Hash       string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	Level      trove.AuthLevel
	Pending    bool      // a second factor is still owed
	SudoUntil  time.Time // zero: never re-authenticated
	Client     string
	UserAgent  string
	RevokedAt  time.Time
}

const webSessionCols = `id, hash, user_id, created_at, last_seen_at, expires_at, auth_level, pending, sudo_until, client, user_agent, revoked_at`

func scanWebSession(s interface{ Scan(...any) error }) (*WebSession, error) {
	var w WebSession
	var created, seen, expires int64
	var level, pending int
	var sudo, revoked sql.NullInt64
	if err := s.Scan(&w.ID, &w.Hash, &w.UserID, &created, &seen, &expires, &level, &pending, &sudo,
		&w.Client, &w.UserAgent, &revoked); err != nil {
		return nil, err
	}
	w.CreatedAt, w.LastSeenAt, w.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(seen).UTC(), time.UnixMicro(expires).UTC()
	w.Level, w.Pending = trove.AuthLevel(level), pending != 0
	w.SudoUntil, w.RevokedAt = timeOf(sudo), timeOf(revoked)
	return &w, nil
}

// InsertWebSession adds s and sets s.ID. Sessions that ended before
// s.CreatedAt minus a day are removed first.
func (tx *Tx) InsertWebSession(ctx context.Context, s *WebSession) error {
	if _, err := tx.exec(ctx, `DELETE FROM web_sessions WHERE expires_at < ?`, s.CreatedAt.Add(-24*time.Hour).UnixMicro()); err != nil {
		return err
	}
	id, err := tx.insert(ctx, `INSERT INTO web_sessions (hash, user_id, created_at, last_seen_at, expires_at, auth_level, pending, sudo_until, client, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Hash, s.UserID, s.CreatedAt.UnixMicro(), s.LastSeenAt.UnixMicro(), s.ExpiresAt.UnixMicro(), int(s.Level),
		boolInt(s.Pending), micros(s.SudoUntil), s.Client, s.UserAgent)
	s.ID = id
	return err
}

// WebSessionByHash returns the session whose secret hashes to h, revoked
// or not.
func (q q) WebSessionByHash(ctx context.Context, h string) (*WebSession, error) {
	s, err := scanWebSession(q.row(ctx, `SELECT `+webSessionCols+` FROM web_sessions WHERE hash = ?`, h))
	return s, q.err(err)
}

// WebSessionsOfUser returns the user's live (unrevoked, unexpired at now)
// sessions, most recently seen first.
func (q q) WebSessionsOfUser(ctx context.Context, userID int64, now time.Time) ([]*WebSession, error) {
	rows, err := q.query(ctx, `SELECT `+webSessionCols+` FROM web_sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY last_seen_at DESC, id DESC`, userID, now.UnixMicro())
	if err != nil {
		return nil, err
	}
	return collect(rows, scanWebSession)
}

// TouchWebSession records that the session was used at t.
func (tx *Tx) TouchWebSession(ctx context.Context, id int64, t time.Time) error {
	_, err := tx.exec(ctx, `UPDATE web_sessions SET last_seen_at = ? WHERE id = ?`, t.UnixMicro(), id)
	return err
}

// PassWebSession records that the session's second factor passed with
// the level, and that the sign-in re-authenticated until sudoUntil. A
// revoked or unknown session is ErrNotFound.
func (tx *Tx) PassWebSession(ctx context.Context, id int64, level trove.AuthLevel, sudoUntil time.Time) error {
	return affected(tx.exec(ctx, `UPDATE web_sessions SET auth_level = ?, pending = 0, sudo_until = ? WHERE id = ? AND revoked_at IS NULL`,
		int(level), sudoUntil.UnixMicro(), id))
}

// SudoWebSession records a re-authentication valid until t. A revoked or
// unknown session is ErrNotFound.
func (tx *Tx) SudoWebSession(ctx context.Context, id int64, t time.Time) error {
	return affected(tx.exec(ctx, `UPDATE web_sessions SET sudo_until = ? WHERE id = ? AND revoked_at IS NULL`, t.UnixMicro(), id))
}

// RevokeWebSession revokes the user's session with the id. Revoking a
// revoked session is not an error; an unknown one, or another user's, is
// ErrNotFound.
func (tx *Tx) RevokeWebSession(ctx context.Context, userID, id int64, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE web_sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND user_id = ?`,
		at.UnixMicro(), id, userID))
}

// RevokeWebSessionsOfUser revokes every live session of the user but
// keep (0 keeps none), and returns how many.
func (tx *Tx) RevokeWebSessionsOfUser(ctx context.Context, userID, keep int64, at time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE web_sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL`,
		at.UnixMicro(), userID, keep)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SetUserDisabled disables the user at t, or enables them if t is zero.
// An unknown user is ErrNotFound.
func (tx *Tx) SetUserDisabled(ctx context.Context, userID int64, t time.Time) error {
	return affected(tx.exec(ctx, `UPDATE users SET disabled_at = ? WHERE id = ?`, micros(t), userID))
}

// SetPasswordReset sets or clears the user's forced password change.
// An unknown user is ErrNotFound.
func (tx *Tx) SetPasswordReset(ctx context.Context, userID int64, reset bool) error {
	return affected(tx.exec(ctx, `UPDATE users SET password_reset = ? WHERE id = ?`, boolInt(reset), userID))
}

// UsersPage returns at most limit users whose names sort after the name
// after, by name.
func (q q) UsersPage(ctx context.Context, after string, limit int) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+userCols+` FROM users WHERE name > ? ORDER BY name LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}
