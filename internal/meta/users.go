package meta

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const userCols = `id, name, email, admin, created_at`

func scanUser(s interface{ Scan(...any) error }) (*trove.User, error) {
	var u trove.User
	var admin int
	var created int64
	if err := s.Scan(&u.ID, &u.Name, &u.Email, &admin, &created); err != nil {
		return nil, err
	}
	u.Admin = admin != 0
	u.CreatedAt = time.UnixMicro(created).UTC()
	return &u, nil
}

// InsertUser adds u, whose password is stored as passwordHash (an
// argon2id PHC string), and sets u.ID. A taken name is ErrConflict.
func (tx *Tx) InsertUser(ctx context.Context, u *trove.User, passwordHash string) error {
	id, err := tx.insert(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.Email, passwordHash, boolInt(u.Admin), u.CreatedAt.UnixMicro())
	u.ID = id
	return err
}

// SetPassword replaces a user's password hash.
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	return affected(tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID))
}

// UserByName returns the user with the (lowercase) name.
func (q q) UserByName(ctx context.Context, name string) (*trove.User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, q.err(err)
}

// PasswordHash returns the stored password hash of the user with the
// (lowercase) name, and the user.
func (q q) PasswordHash(ctx context.Context, name string) (*trove.User, string, error) {
	var u trove.User
	var admin int
	var created int64
	var hash string
	err := q.row(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Email, &admin, &created, &hash)
	if err != nil {
		return nil, "", q.err(err)
	}
	u.Admin = admin != 0
	u.CreatedAt = time.UnixMicro(created).UTC()
	return &u, hash, nil
}

// UserByID returns the user with the id.
func (q q) UserByID(ctx context.Context, id int64) (*trove.User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, q.err(err)
}

// Users returns every user, by name.
func (q q) Users(ctx context.Context) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// CountUsers returns how many accounts exist.
func (q q) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, q.err(err)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func marshalStrings(s []string) string {
	if s == nil {
		s = []string{}
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func unmarshalStrings(s string) ([]string, error) {
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}
