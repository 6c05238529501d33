package meta

import (
	"context"
	"database/sql"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const tokenCols = `id, public_id, hash, user_id, description, packages, actions, created_at, expires_at, last_used_at, revoked_at, auth_level, publisher_id`

func scanToken(s interface{ Scan(...any) error }) (*trove.Token, error) {
	var t trove.Token
	var pkgs, acts string
	var created int64
	var expires, used, revoked sql.NullInt64
	if err := s.Scan(&t.ID, &t.PublicID, &t.Hash, &t.UserID, &t.Description, &pkgs, &acts, &created, &expires, &used, &revoked, &t.AuthLevel, &t.PublisherID); err != nil {
		return nil, err
	}
	var err error
	if t.Packages, err = unmarshalStrings(pkgs); err != nil {
		return nil, err
	}
	if t.Actions, err = unmarshalStrings(acts); err != nil {
		return nil, err
	}
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timeOf(expires), timeOf(used), timeOf(revoked)
	return &t, nil
}

// InsertToken adds t and sets t.ID.
func (tx *Tx) InsertToken(ctx context.Context, t *trove.Token) error {
	id, err := tx.insert(ctx, `INSERT INTO tokens (public_id, hash, user_id, description, packages, actions, created_at, expires_at, auth_level, publisher_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.PublicID, t.Hash, t.UserID, t.Description, marshalStrings(t.Packages), marshalStrings(t.Actions),
		t.CreatedAt.UnixMicro(), micros(t.ExpiresAt), int(t.AuthLevel), t.PublisherID)
	t.ID = id
	return err
}

// RevokeToken marks the user's token with the public id revoked. Revoking a
// revoked token is not an error; an unknown one is ErrNotFound.
func (tx *Tx) RevokeToken(ctx context.Context, userID int64, publicID string, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE user_id = ? AND public_id = ?`,
		at.UnixMicro(), userID, publicID))
}

// RevokeTokensOfUser marks every live token of the user revoked and
// returns how many.
func (tx *Tx) RevokeTokensOfUser(ctx context.Context, userID int64, at time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, at.UnixMicro(), userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TouchToken records that the token was used at t.
func (tx *Tx) TouchToken(ctx context.Context, id int64, t time.Time) error {
	_, err := tx.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, t.UnixMicro(), id)
	return err
}

// TokenByHash returns the token whose hash is h, revoked or not.
func (q q) TokenByHash(ctx context.Context, h string) (*trove.Token, error) {
	t, err := scanToken(q.row(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, h))
	return t, q.err(err)
}

// TokensOfUser returns the user's tokens, newest first, revoked ones included.
func (q q) TokensOfUser(ctx context.Context, userID int64) ([]*trove.Token, error) {
	rows, err := q.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanToken)
}
