package meta

import (
	"context"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// Account recovery: email domains' DNS status and password reset tokens
// (migration 00014_recovery).

// SetUserEmail replaces a user's email address. A user that does not
// exist is ErrNotFound. The new address is not verified until
// SetEmailVerified says so; callers also call PublicEmailChanged.
func (tx *Tx) SetUserEmail(ctx context.Context, userID int64, email string) error {
	return affected(tx.exec(ctx, `UPDATE users SET email = ? WHERE id = ?`, email, userID))
}

// PublicEmailChanged records that the user's address changed: when they
// show it in public metadata, every package they own gets a change of
// kind "profile" (as SetPublicEmail), so that no cache keeps the old one.
func (tx *Tx) PublicEmailChanged(ctx context.Context, userID int64, at time.Time) error {
	var public int
	if err := tx.row(ctx, `SELECT public_email FROM users WHERE id = ?`, userID).Scan(&public); err != nil {
		return tx.err(err)
	}
	if public == 0 {
		return nil
	}
	return tx.touchOwnedPackages(ctx, userID, at)
}

// An EmailDomain is the last DNS verdict on an email domain.
type EmailDomain struct {
	Domain    string
	Status    string // alive, dead or unknown
	Reason    string
	CheckedAt time.Time
	// DeadSince is when the domain was first seen dead; zero if never.
	// A verdict of alive does not clear it.
	DeadSince time.Time
}

const emailDomainCols = `domain, status, reason, checked_at, dead_since`

func scanEmailDomain(s interface{ Scan(...any) error }) (*EmailDomain, error) {
	var d EmailDomain
	var checked, dead int64
	if err := s.Scan(&d.Domain, &d.Status, &d.Reason, &checked, &dead); err != nil {
		return nil, err
	}
	d.CheckedAt = time.UnixMicro(checked).UTC()
	if dead != 0 {
		d.DeadSince = time.UnixMicro(dead).UTC()
	}
	return &d, nil
}

// PutEmailDomain records a verdict. An earlier DeadSince is kept; a
// verdict of dead with a zero DeadSince starts it at CheckedAt.
func (tx *Tx) PutEmailDomain(ctx context.Context, d EmailDomain) error {
	var dead int64
	switch {
	case !d.DeadSince.IsZero():
		dead = d.DeadSince.UnixMicro()
	case d.Status == "dead":
		dead = d.CheckedAt.UnixMicro()
	}
	_, err := tx.exec(ctx, `INSERT INTO email_domains (`+emailDomainCols+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET status = excluded.status, reason = excluded.reason,
			checked_at = excluded.checked_at,
			dead_since = CASE WHEN email_domains.dead_since <> 0 THEN email_domains.dead_since ELSE excluded.dead_since END`,
		d.Domain, d.Status, d.Reason, d.CheckedAt.UnixMicro(), dead)
	return err
}

// ClearEmailDomain forgets a domain's history (an administrator who
// established that its owner is unchanged); its next check starts afresh.
func (tx *Tx) ClearEmailDomain(ctx context.Context, domain string) error {
	_, err := tx.exec(ctx, `DELETE FROM email_domains WHERE domain = ?`, domain)
	return err
}

// EmailDomainByName returns the verdict on a domain, or ErrNotFound.
func (q q) EmailDomainByName(ctx context.Context, domain string) (*EmailDomain, error) {
	d, err := scanEmailDomain(q.row(ctx, `SELECT `+emailDomainCols+` FROM email_domains WHERE domain = ?`, domain))
	return d, q.err(err)
}

// EmailDomains returns every recorded verdict, by domain.
func (q q) EmailDomains(ctx context.Context) ([]*EmailDomain, error) {
	rows, err := q.query(ctx, `SELECT `+emailDomainCols+` FROM email_domains ORDER BY domain`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanEmailDomain)
}

// A PasswordReset is a reset link mailed to a user: only the token's
// hash is stored.
type PasswordReset struct {
	TokenHash string
	UserID    int64
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: unused
}

// InsertPasswordReset stores a reset.
func (tx *Tx) InsertPasswordReset(ctx context.Context, r PasswordReset) error {
	_, err := tx.exec(ctx, `INSERT INTO password_resets (token_hash, user_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		r.TokenHash, r.UserID, r.Email, r.CreatedAt.UnixMicro(), r.ExpiresAt.UnixMicro())
	return err
}

// UsePasswordReset marks the unused, unexpired reset with the hash used
// at now and returns it; ErrNotFound if there is none. Of two concurrent
// uses of one token exactly one succeeds.
func (tx *Tx) UsePasswordReset(ctx context.Context, hash string, now time.Time) (*PasswordReset, error) {
	err := affected(tx.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`,
		now.UnixMicro(), hash, now.UnixMicro()))
	if err != nil {
		return nil, err
	}
	return tx.PasswordResetByHash(ctx, hash)
}

// EndPasswordResets marks every unused reset of the user used at now (a
// completed reset or a recovery ends the links still in flight) and
// deletes those that expired before now.
func (tx *Tx) EndPasswordResets(ctx context.Context, userID int64, now time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at = 0`, now.UnixMicro(), userID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM password_resets WHERE expires_at < ?`, now.UnixMicro())
	return err
}

// CountPasswordResets returns how many resets of the user were created
// since the time.
func (q q) CountPasswordResets(ctx context.Context, userID int64, since time.Time) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM password_resets WHERE user_id = ? AND created_at >= ?`, userID, since.UnixMicro()).Scan(&n)
	if errors.Is(q.err(err), ErrNotFound) {
		return 0, nil
	}
	return n, q.err(err)
}

// UsersByEmail returns the users whose address is email (compared
// without regard to case), by name.
func (q q) UsersByEmail(ctx context.Context, email string) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+userCols+` FROM users WHERE LOWER(email) = LOWER(?) ORDER BY name`, email)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// PasswordResetByHash returns the reset with the token hash, used or
// not, expired or not; ErrNotFound if there is none.
func (q q) PasswordResetByHash(ctx context.Context, hash string) (*PasswordReset, error) {
	var r PasswordReset
	var created, expires, used int64
	err := q.row(ctx, `SELECT token_hash, user_id, email, created_at, expires_at, used_at FROM password_resets WHERE token_hash = ?`, hash).
		Scan(&r.TokenHash, &r.UserID, &r.Email, &created, &expires, &used)
	if err != nil {
		return nil, q.err(err)
	}
	r.CreatedAt, r.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if used != 0 {
		r.UsedAt = time.UnixMicro(used).UTC()
	}
	return &r, nil
}
