package meta

import (
	"context"
	"errors"
	"time"
)

// UnlockSignIn records that an administrator unlocked sign-ins for the
// (lowercase) user name at the time at.
func (tx *Tx) UnlockSignIn(ctx context.Context, name string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO signin_unlocks (name, unlocked_at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET unlocked_at = excluded.unlocked_at`, name, at.UnixMicro())
	return tx.err(err)
}

// SignInUnlockedAt returns when sign-ins for the user name were last
// unlocked, or the zero time if they never were.
func (q q) SignInUnlockedAt(ctx context.Context, name string) (time.Time, error) {
	var at int64
	err := q.err(q.row(ctx, `SELECT unlocked_at FROM signin_unlocks WHERE name = ?`, name).Scan(&at))
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(at).UTC(), nil
}
