package meta

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// An OwnedPackage is a package a user owns, with how many owners it has
// in all (1: the user is its only owner).
type OwnedPackage struct {
	Package *trove.Package
	Owners  int
}

// OwnedPackages returns the packages the user owns, by id (the order
// their rows are locked in).
func (q q) OwnedPackages(ctx context.Context, userID int64) ([]OwnedPackage, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("p.", packageCols)+`, (SELECT COUNT(*) FROM owners c WHERE c.package_id = p.id AND c.role = 'owner')
		FROM owners o JOIN packages p ON p.id = o.package_id WHERE o.user_id = ? AND o.role = 'owner' ORDER BY p.id`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (OwnedPackage, error) {
		var op OwnedPackage
		var err error
		op.Package, err = scanPackageAnd(s, &op.Owners)
		return op, err
	})
}

// UserForUpdate returns the user with the id, with its row locked until
// the transaction ends (as LockUser).
func (tx *Tx) UserForUpdate(ctx context.Context, id int64) (*trove.User, error) {
	u, err := scanUser(tx.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`+tx.d.forUpdate, id))
	return u, tx.err(err)
}

// ActiveAdmins returns the ids of the administrators who are neither
// deleted nor disabled, with every administrator's row locked until the
// transaction ends: two transactions that each remove a different
// administrator decide one after the other, so that one always remains.
func (tx *Tx) ActiveAdmins(ctx context.Context) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT id, disabled_at IS NULL AND deleted_at IS NULL FROM users WHERE admin = 1 ORDER BY id`+tx.d.forUpdate)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var active bool
		if err := rows.Scan(&id, &active); err != nil {
			return nil, err
		}
		if active {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// erasures are the statements that delete what an account held besides
// its row: credentials, sessions, pending secrets and personal records.
// Each takes the user id once (twice for mail_tokens).
var erasures = []string{
	`DELETE FROM tokens WHERE user_id = ?`,
	`DELETE FROM web_sessions WHERE user_id = ?`,
	`DELETE FROM login_sessions WHERE user_id = ?`,
	`DELETE FROM npm_otp_challenges WHERE user_id = ?`,
	`DELETE FROM factors WHERE user_id = ?`,
	`DELETE FROM recovery_codes WHERE user_id = ?`,
	`DELETE FROM webauthn_ceremonies WHERE user_id = ?`,
	`DELETE FROM password_resets WHERE user_id = ?`,
	`DELETE FROM email_verifications WHERE user_id = ?`,
	`DELETE FROM known_devices WHERE user_id = ?`,
	`DELETE FROM review_reminders WHERE user_id = ?`,
	`DELETE FROM curators WHERE user_id = ?`,
	// Its roles other than owner (the registry removes owners, logging
	// it), its memberships of organisations and teams, and the
	// invitations it did not answer. An organisation whose last owner it
	// was is left to administrators (docs/roles.md).
	`DELETE FROM owners WHERE user_id = ? AND role <> 'owner'`,
	`DELETE FROM team_members WHERE user_id = ?`,
	`DELETE FROM org_members WHERE user_id = ?`,
	`DELETE FROM org_invitations WHERE user_id = ?`,
	// Its own verification links, and the invitations it sent that
	// nobody used yet: they carried its trust.
	`DELETE FROM mail_tokens WHERE user_id = ? OR (created_by = ? AND used_at IS NULL)`,
}

// EraseUser turns the user's row into a tombstone deleted at at: the name
// stays (taken forever), the email address, password hash, WebAuthn user
// handle, administrator flag and forced reset go, and every row of its
// tokens, sessions, npm OTP challenges, factors, recovery codes, ceremonies, reset links,
// verifications, known devices, curator role, mail tokens, package roles
// other than owner, memberships of organisations and teams, and
// invitations is deleted.
// Its security events stay, for administrators. Owners are not touched
// (the registry removes them, logging it). A user already deleted is
// ErrNotFound.
func (tx *Tx) EraseUser(ctx context.Context, userID int64, at time.Time) error {
	for _, stmt := range erasures {
		args := []any{userID}
		if strings.Count(stmt, "?") == 2 {
			args = append(args, userID)
		}
		if _, err := tx.exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("erasing user %d: %w", userID, tx.err(err))
		}
	}
	return affected(tx.exec(ctx, `UPDATE users SET email = '', password_hash = '', webauthn_handle = NULL, admin = 0,
		public_email = 0, password_reset = 0, deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, at.UnixMicro(), userID))
}

// AccountCounts returns how many releases the user published, and how
// many unrevoked tokens, unrevoked web sessions and second factors the
// account holds.
func (q q) AccountCounts(ctx context.Context, userID int64) (releases, tokens, sessions, factors int, err error) {
	err = q.row(ctx, `SELECT
		(SELECT COUNT(*) FROM releases WHERE publisher_id = ?),
		(SELECT COUNT(*) FROM tokens WHERE user_id = ? AND revoked_at IS NULL),
		(SELECT COUNT(*) FROM web_sessions WHERE user_id = ? AND revoked_at IS NULL),
		(SELECT COUNT(*) FROM factors WHERE user_id = ?)`, userID, userID, userID, userID).Scan(&releases, &tokens, &sessions, &factors)
	return releases, tokens, sessions, factors, q.err(err)
}
