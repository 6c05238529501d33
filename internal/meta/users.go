package meta

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// A User is an account.
type User struct {
	ID           int64
	Name         string // lowercase
	Email        string
	PasswordHash string // argon2id PHC string
	Admin        bool
	CreatedAt    time.Time
}

const userCols = `id, name, email, password_hash, admin, created_at`

func scanUser(s interface{ Scan(...any) error }) (*User, error) {
	var u User
	var admin int
	var created int64
	if err := s.Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &admin, &created); err != nil {
		return nil, err
	}
	u.Admin = admin != 0
	u.CreatedAt = time.UnixMicro(created).UTC()
	return &u, nil
}

// InsertUser adds u and sets u.ID. A taken name is ErrConflict.
func (tx *Tx) InsertUser(ctx context.Context, u *User) error {
	id, err := tx.insert(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.Email, u.PasswordHash, boolInt(u.Admin), u.CreatedAt.UnixMicro())
	u.ID = id
	return err
}

// SetPassword replaces a user's password hash.
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	return affected(tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID))
}

// UserByName returns the user with the (lowercase) name.
func (q q) UserByName(ctx context.Context, name string) (*User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, q.err(err)
}

// UserByID returns the user with the id.
func (q q) UserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, q.err(err)
}

// Users returns every user, by name.
func (q q) Users(ctx context.Context) ([]*User, error) {
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
