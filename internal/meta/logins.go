package meta

import (
	"context"
	"database/sql"
	"time"
)

// A LoginSession is a pending browser login: the client polls with the
// done secret while a person signs in with the login secret.
type LoginSession struct {
	ID        int64
	LoginHash string
	DoneHash  string
	UserID    int64 // 0 until someone signed in
	// AuthLevel is how that person had signed in (trove.AuthLevel).
	AuthLevel int
	CreatedAt time.Time
	ExpiresAt time.Time
}

const loginCols = `id, login_hash, done_hash, user_id, created_at, expires_at, auth_level`

func scanLogin(s interface{ Scan(...any) error }) (*LoginSession, error) {
	var l LoginSession
	var user sql.NullInt64
	var created, expires int64
	if err := s.Scan(&l.ID, &l.LoginHash, &l.DoneHash, &user, &created, &expires, &l.AuthLevel); err != nil {
		return nil, err
	}
	l.UserID = user.Int64
	l.CreatedAt, l.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return &l, nil
}

// InsertLoginSession adds l and sets l.ID. Expired sessions are removed first.
func (tx *Tx) InsertLoginSession(ctx context.Context, l *LoginSession) error {
	if _, err := tx.exec(ctx, `DELETE FROM login_sessions WHERE expires_at < ?`, l.CreatedAt.UnixMicro()); err != nil {
		return err
	}
	id, err := tx.insert(ctx, `INSERT INTO login_sessions (login_hash, done_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		l.LoginHash, l.DoneHash, l.CreatedAt.UnixMicro(), l.ExpiresAt.UnixMicro())
	l.ID = id
	return err
}

// LoginSessionByLogin returns the session whose login secret hashes to h.
func (q q) LoginSessionByLogin(ctx context.Context, h string) (*LoginSession, error) {
	l, err := scanLogin(q.row(ctx, `SELECT `+loginCols+` FROM login_sessions WHERE login_hash = ?`, h))
	return l, q.err(err)
}

// LoginSessionByDone returns the session whose done secret hashes to h.
func (q q) LoginSessionByDone(ctx context.Context, h string) (*LoginSession, error) {
	l, err := scanLogin(q.row(ctx, `SELECT `+loginCols+` FROM login_sessions WHERE done_hash = ?`, h))
	return l, q.err(err)
}

// CompleteLoginSession records who signed in, and at what level, once.
func (tx *Tx) CompleteLoginSession(ctx context.Context, id, userID int64, level int) error {
	return affected(tx.exec(ctx, `UPDATE login_sessions SET user_id = ?, auth_level = ? WHERE id = ? AND user_id IS NULL`, userID, level, id))
}

// DeleteLoginSession removes the session.
func (tx *Tx) DeleteLoginSession(ctx context.Context, id int64) error {
	return affected(tx.exec(ctx, `DELETE FROM login_sessions WHERE id = ?`, id))
}
