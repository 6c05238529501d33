package meta

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const userCols = `id, name, email, admin, public_email, created_at, disabled_at, password_reset, deleted_at`

func scanUser(s interface{ Scan(...any) error }) (*trove.User, error) {
	return scanUserAnd(s)
}

// scanUser reads userCols followed by more columns.
func scanUserAnd(s interface{ Scan(...any) error }, more ...any) (*trove.User, error) {
	var u trove.User
	var admin, public, reset int
	var created int64
	var disabled, deleted sql.NullInt64
	dest := append([]any{&u.ID, &u.Name, &u.Email, &admin, &public, &created, &disabled, &reset, &deleted}, more...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	u.Admin, u.PublicEmail, u.PasswordReset = admin != 0, public != 0, reset != 0
	u.CreatedAt = time.UnixMicro(created).UTC()
	u.DisabledAt = timeOf(disabled)
	u.DeletedAt = timeOf(deleted)
	return &u, nil
}

// InsertUser adds u, whose password is stored as passwordHash (an
// argon2id PHC string), and sets u.ID. A taken name is ErrConflict.
func (tx *Tx) InsertUser(ctx context.Context, u *trove.User, passwordHash string) error {
	if err := tx.orgTaken(ctx, u.Name); err != nil {
		return err
	}
	id, err := tx.insert(ctx, `INSERT INTO users (name, email, password_hash, admin, public_email, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Name, u.Email, passwordHash, boolInt(u.Admin), boolInt(u.PublicEmail), u.CreatedAt.UnixMicro())
	u.ID = id
	return err
}

// SetPublicEmail records whether the user shows their email address in
// public metadata, and adds a change of kind "profile" to every package
// they own, so that caches on every replica drop the documents that name
// them. A user that does not exist is ErrNotFound.
func (tx *Tx) SetPublicEmail(ctx context.Context, userID int64, public bool, at time.Time) error {
	if err := affected(tx.exec(ctx, `UPDATE users SET public_email = ? WHERE id = ?`, boolInt(public), userID)); err != nil {
		return err
	}
	return tx.touchOwnedPackages(ctx, userID, at)
}

// touchOwnedPackages adds a change of kind "profile" to every package the
// user owns: the documents naming them must be made again.
func (tx *Tx) touchOwnedPackages(ctx context.Context, userID int64, at time.Time) error {
	// The rows are locked in id order before the sequencer (see lock.go).
	rows, err := tx.query(ctx, `SELECT `+packageCols+` FROM packages
		WHERE id IN (SELECT package_id FROM owners WHERE user_id = ?) ORDER BY id`+tx.d.forUpdate, userID)
	if err != nil {
		return err
	}
	pkgs, err := collect(rows, scanPackage)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		if _, err := tx.AddChange(ctx, p, "profile", at); err != nil {
			return err
		}
	}
	return nil
}

// prefixed qualifies every column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + c
	}
	return strings.Join(parts, ", ")
}

// SetPassword replaces a user's password hash.
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	return affected(tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID))
}

// UserByName returns the user with the (lowercase) name, deleted or not:
// a deleted account's name stays taken (its namespace, its releases), and
// callers that act for a person check User.Deleted.
func (q q) UserByName(ctx context.Context, name string) (*trove.User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, q.err(err)
}

// PasswordHash returns the stored password hash of the user with the
// (lowercase) name, and the user. A deleted account is ErrNotFound, like
// a name never registered.
func (q q) PasswordHash(ctx context.Context, name string) (*trove.User, string, error) {
	var hash string
	u, err := scanUserAnd(q.row(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = ? AND deleted_at IS NULL`, name), &hash)
	if err != nil {
		return nil, "", q.err(err)
	}
	return u, hash, nil
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

// Admins returns the administrators whose accounts are neither disabled
// nor deleted, by name.
func (q q) Admins(ctx context.Context) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+userCols+` FROM users WHERE admin = 1 AND disabled_at IS NULL AND deleted_at IS NULL ORDER BY name`)
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
