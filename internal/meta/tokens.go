package meta

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const tokenCols = `id, public_id, hash, user_id, description, packages, actions, created_at, expires_at, last_used_at, revoked_at, auth_level, publisher_id, cidrs`

func scanToken(s interface{ Scan(...any) error }) (*trove.Token, error) {
	var t trove.Token
	var pkgs, acts, cidrs string
	var created int64
	var expires, used, revoked sql.NullInt64
	if err := s.Scan(&t.ID, &t.PublicID, &t.Hash, &t.UserID, &t.Description, &pkgs, &acts, &created, &expires, &used, &revoked, &t.AuthLevel, &t.PublisherID, &cidrs); err != nil {
		return nil, err
	}
	if cidrs != "" {
		t.CIDRs = strings.Fields(cidrs)
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
	id, err := tx.insert(ctx, `INSERT INTO tokens (public_id, hash, user_id, description, packages, actions, created_at, expires_at, auth_level, publisher_id, cidrs)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.PublicID, t.Hash, t.UserID, t.Description, marshalStrings(t.Packages), marshalStrings(t.Actions),
		t.CreatedAt.UnixMicro(), micros(t.ExpiresAt), int(t.AuthLevel), t.PublisherID, strings.Join(t.CIDRs, " "))
	t.ID = id
	return err
}

// RevokeToken marks the user's token with the public id revoked and
// reports whether this call revoked it: revoking a revoked token is not an
// error (false); an unknown one is ErrNotFound.
func (tx *Tx) RevokeToken(ctx context.Context, userID int64, publicID string, at time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND public_id = ? AND revoked_at IS NULL`,
		at.UnixMicro(), userID, publicID)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, err
	}
	var id int64
	err = tx.row(ctx, `SELECT id FROM tokens WHERE user_id = ? AND public_id = ?`, userID, publicID).Scan(&id)
	return false, tx.err(err)
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

// RevokeAllTokens marks every token of every user that is not revoked
// yet revoked, and returns how many it revoked per user id.
func (tx *Tx) RevokeAllTokens(ctx context.Context, at time.Time) (map[int64]int, error) {
	rows, err := tx.query(ctx, `SELECT user_id, COUNT(*) FROM tokens WHERE revoked_at IS NULL GROUP BY user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	per := make(map[int64]int)
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		per[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL`, at.UnixMicro())
	return per, err
}

// RevokeTokensByID marks the live tokens among ids revoked and returns
// how many it revoked.
func (tx *Tx) RevokeTokensByID(ctx context.Context, ids []int64, at time.Time) (int, error) {
	n := 0
	for _, id := range ids {
		res, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at.UnixMicro(), id)
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}

// LiveTokens returns every token neither revoked nor expired at now, of
// every user, in id order.
func (q q) LiveTokens(ctx context.Context, now time.Time) ([]*trove.Token, error) {
	rows, err := q.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY id`, now.UnixMicro())
	if err != nil {
		return nil, err
	}
	return collect(rows, scanToken)
}

// TouchToken records that the token was used at t, unless another
// request (on any replica) recorded a use less than every before t: the
// time of last use is exact to that granularity and costs at most one
// write per token per every.
func (tx *Tx) TouchToken(ctx context.Context, id int64, t time.Time, every time.Duration) error {
	_, err := tx.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
		t.UnixMicro(), id, t.Add(-every).UnixMicro())
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
