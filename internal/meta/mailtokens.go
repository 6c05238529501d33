package meta

import (
	"context"
	"database/sql"
	"time"
)

// A MailToken is a single-use secret sent by mail; only its hash is
// stored.
type MailToken struct {
	Hash      string
	Kind      string // "verify", "invite" or "email-change"
	UserID    int64  // the account whose address it verifies (verify, email-change)
	Email     string // the address it was mailed to (for email-change: the new one)
	CreatedBy int64  // the administrator who invited (invite)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InsertMailToken stores t.
func (tx *Tx) InsertMailToken(ctx context.Context, t *MailToken) error {
	_, err := tx.exec(ctx, `INSERT INTO mail_tokens (hash, kind, user_id, email, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Kind, nullID(t.UserID), t.Email, nullID(t.CreatedBy), t.CreatedAt.UnixMicro(), t.ExpiresAt.UnixMicro())
	return tx.err(err)
}

// MailTokenByHash returns the unused, unexpired token of the kind with
// the hash, or ErrNotFound.
func (q q) MailTokenByHash(ctx context.Context, kind, hash string, now time.Time) (*MailToken, error) {
	var t MailToken
	var user, by sql.NullInt64
	var created, expires int64
	err := q.row(ctx, `SELECT hash, kind, user_id, email, created_by, created_at, expires_at FROM mail_tokens
		WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?`, hash, kind, now.UnixMicro()).
		Scan(&t.Hash, &t.Kind, &user, &t.Email, &by, &created, &expires)
	if err != nil {
		return nil, q.err(err)
	}
	t.UserID, t.CreatedBy = user.Int64, by.Int64
	t.CreatedAt, t.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return &t, nil
}

// UseMailToken marks the token used at now; one already used or expired
// is ErrNotFound, so of two concurrent uses one wins.
func (tx *Tx) UseMailToken(ctx context.Context, hash string, now time.Time) error {
	return affected(tx.exec(ctx, `UPDATE mail_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
		now.UnixMicro(), hash, now.UnixMicro()))
}

// PendingMailToken returns the user's newest unused, unexpired token of
// the kind, or ErrNotFound.
func (q q) PendingMailToken(ctx context.Context, kind string, userID int64, now time.Time) (*MailToken, error) {
	var t MailToken
	var user, by sql.NullInt64
	var created, expires int64
	err := q.row(ctx, `SELECT hash, kind, user_id, email, created_by, created_at, expires_at FROM mail_tokens
		WHERE user_id = ? AND kind = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC, hash LIMIT 1`,
		userID, kind, now.UnixMicro()).
		Scan(&t.Hash, &t.Kind, &user, &t.Email, &by, &created, &expires)
	if err != nil {
		return nil, q.err(err)
	}
	t.UserID, t.CreatedBy = user.Int64, by.Int64
	t.CreatedAt, t.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return &t, nil
}

// CountMailTokens returns how many tokens of the kind were made for the
// user after since, used or not (a per-account limit).
func (q q) CountMailTokens(ctx context.Context, kind string, userID int64, since time.Time) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM mail_tokens WHERE user_id = ? AND kind = ? AND created_at > ?`,
		userID, kind, since.UnixMicro()).Scan(&n)
	return n, q.err(err)
}

// EndMailTokens marks every unused, unexpired token of the kind of the
// user used at now, and returns how many there were.
func (tx *Tx) EndMailTokens(ctx context.Context, kind string, userID int64, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE mail_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL AND expires_at > ?`,
		now.UnixMicro(), userID, kind, now.UnixMicro())
	if err != nil {
		return 0, tx.err(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SetEmailVerified records that the user's address, if it still is
// email, was verified at at. A user whose address is another is
// ErrNotFound.
func (tx *Tx) SetEmailVerified(ctx context.Context, userID int64, email string, at time.Time) error {
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM users WHERE id = ? AND email = ?`, userID, email).Scan(&n); err != nil {
		return tx.err(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	_, err := tx.exec(ctx, `INSERT INTO email_verifications (user_id, email, verified_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at`, userID, email, at.UnixMicro())
	return tx.err(err)
}

// EmailVerifiedAt returns when the user's current address was verified,
// or the zero time (never, or a verification of an earlier address).
func (q q) EmailVerifiedAt(ctx context.Context, userID int64) (time.Time, error) {
	var at int64
	err := q.err(q.row(ctx, `SELECT v.verified_at FROM email_verifications v JOIN users u ON u.id = v.user_id AND u.email = v.email
		WHERE v.user_id = ?`, userID).Scan(&at))
	if err == ErrNotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(at).UTC(), nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
