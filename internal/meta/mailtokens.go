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
	Kind      string // "verify" or "invite"
	UserID    int64  // the account whose address it verifies (verify)
	Email     string
	CreatedBy int64 // the administrator who invited (invite)
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

// SetEmailVerified records that the user's address, if it still is
// email, was verified at at (zero: no longer verified). A user whose
// address is another is ErrNotFound.
func (tx *Tx) SetEmailVerified(ctx context.Context, userID int64, email string, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE users SET email_verified_at = ? WHERE id = ? AND email = ?`, micros(at), userID, email))
}

// EmailVerifiedAt returns when the user's address was verified, or the
// zero time.
func (q q) EmailVerifiedAt(ctx context.Context, userID int64) (time.Time, error) {
	var at sql.NullInt64
	err := q.row(ctx, `SELECT email_verified_at FROM users WHERE id = ?`, userID).Scan(&at)
	return timeOf(at), q.err(err)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
