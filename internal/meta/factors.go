package meta

import (
	"context"
	"database/sql"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// Factor kinds.
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
)

// A Factor is a user's second factor: a TOTP authenticator or a WebAuthn
// credential (see migration 00012_factors for the columns).
type Factor struct {
	ID          int64
	UserID      int64
	Kind        string
	Name        string
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero: a TOTP enrolment waiting for its first code
	LastUsedAt  time.Time
	// TOTP.
	Secret   string // sealed, never the plain secret
	LastStep int64
	// WebAuthn.
	CredentialID string // base64url raw id
	Credential   []byte // JSON
	CloneWarning bool
}

const factorCols = `id, user_id, kind, name, created_at, confirmed_at, last_used_at, secret, last_step, credential_id, credential, clone_warning`

func scanFactor(s interface{ Scan(...any) error }) (*Factor, error) {
	var f Factor
	var created int64
	var confirmed, used sql.NullInt64
	var credID sql.NullString
	var cred string
	var clone int
	if err := s.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &created, &confirmed, &used, &f.Secret, &f.LastStep, &credID, &cred, &clone); err != nil {
		return nil, err
	}
	f.CreatedAt = time.UnixMicro(created).UTC()
	f.ConfirmedAt, f.LastUsedAt = timeOf(confirmed), timeOf(used)
	f.CredentialID = credID.String
	if cred != "" {
		f.Credential = []byte(cred)
	}
	f.CloneWarning = clone != 0
	return &f, nil
}

// InsertFactor adds f and sets f.ID. A credential id already registered
// (by anyone) is ErrConflict.
func (tx *Tx) InsertFactor(ctx context.Context, f *Factor) error {
	var credID any
	if f.CredentialID != "" {
		credID = f.CredentialID
	}
	id, err := tx.insert(ctx, `INSERT INTO factors (user_id, kind, name, created_at, confirmed_at, last_used_at, secret, last_step, credential_id, credential, clone_warning)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.UserID, f.Kind, f.Name, f.CreatedAt.UnixMicro(), micros(f.ConfirmedAt), micros(f.LastUsedAt), f.Secret, f.LastStep,
		credID, string(f.Credential), boolInt(f.CloneWarning))
	f.ID = id
	return err
}

// Factor returns the user's factor with the id, confirmed or not.
func (q q) Factor(ctx context.Context, userID, id int64) (*Factor, error) {
	f, err := scanFactor(q.row(ctx, `SELECT `+factorCols+` FROM factors WHERE id = ? AND user_id = ?`, id, userID))
	return f, q.err(err)
}

// Factors returns the user's confirmed factors, oldest first.
func (q q) Factors(ctx context.Context, userID int64) ([]*Factor, error) {
	rows, err := q.query(ctx, `SELECT `+factorCols+` FROM factors WHERE user_id = ? AND confirmed_at IS NOT NULL ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanFactor)
}

// FactorByCredential returns the confirmed WebAuthn factor with the
// credential id.
func (q q) FactorByCredential(ctx context.Context, credentialID string) (*Factor, error) {
	f, err := scanFactor(q.row(ctx, `SELECT `+factorCols+` FROM factors WHERE credential_id = ? AND confirmed_at IS NOT NULL`, credentialID))
	return f, q.err(err)
}

// ConfirmFactor marks a pending factor of the user confirmed at at, and
// records the TOTP step its first code was for. A factor that does not
// exist or is already confirmed is ErrNotFound.
func (tx *Tx) ConfirmFactor(ctx context.Context, userID, id, step int64, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE factors SET confirmed_at = ?, last_used_at = ?, last_step = ?
		WHERE id = ? AND user_id = ? AND confirmed_at IS NULL`, at.UnixMicro(), at.UnixMicro(), step, id, userID))
}

// AdvanceStep records that a code of TOTP factor id was accepted for time
// step step, if no code of that step or a later one was accepted before:
// the compare-and-swap that lets each code be used once, however many
// requests carry it at the same time. ErrNotFound means it was not
// advanced.
func (tx *Tx) AdvanceStep(ctx context.Context, id, step int64, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE factors SET last_step = ?, last_used_at = ?
		WHERE id = ? AND last_step < ? AND confirmed_at IS NOT NULL`, step, at.UnixMicro(), id, step))
}

// UpdateCredential stores a WebAuthn factor's credential record after a
// sign-in (its sign count and flags) and its clone warning.
func (tx *Tx) UpdateCredential(ctx context.Context, id int64, credential []byte, cloneWarning bool, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE factors SET credential = ?, clone_warning = ?, last_used_at = ? WHERE id = ?`,
		string(credential), boolInt(cloneWarning), at.UnixMicro(), id))
}

// RenameFactor changes the label of the user's factor.
func (tx *Tx) RenameFactor(ctx context.Context, userID, id int64, name string) error {
	return affected(tx.exec(ctx, `UPDATE factors SET name = ? WHERE id = ? AND user_id = ? AND confirmed_at IS NOT NULL`, name, id, userID))
}

// DeleteFactor removes the user's factor.
func (tx *Tx) DeleteFactor(ctx context.Context, userID, id int64) error {
	return affected(tx.exec(ctx, `DELETE FROM factors WHERE id = ? AND user_id = ?`, id, userID))
}

// DeletePendingFactors removes TOTP enrolments begun before before and
// never confirmed.
func (tx *Tx) DeletePendingFactors(ctx context.Context, before time.Time) error {
	_, err := tx.exec(ctx, `DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < ?`, before.UnixMicro())
	return err
}

// WebAuthnHandle returns the user's WebAuthn user handle, "" if they have
// none yet.
func (q q) WebAuthnHandle(ctx context.Context, userID int64) (string, error) {
	var h sql.NullString
	err := q.row(ctx, `SELECT webauthn_handle FROM users WHERE id = ?`, userID).Scan(&h)
	return h.String, q.err(err)
}

// SetWebAuthnHandle gives the user the handle unless they have one
// already; ErrNotFound if they had one.
func (tx *Tx) SetWebAuthnHandle(ctx context.Context, userID int64, handle string) error {
	return affected(tx.exec(ctx, `UPDATE users SET webauthn_handle = ? WHERE id = ? AND webauthn_handle IS NULL`, handle, userID))
}

// UserByWebAuthnHandle returns the user with the handle.
func (q q) UserByWebAuthnHandle(ctx context.Context, handle string) (*trove.User, error) {
	u, err := scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE webauthn_handle = ?`, handle))
	return u, q.err(err)
}

// ReplaceRecoveryCodes deletes the user's recovery codes, used or not,
// and stores the new hashes.
func (tx *Tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string, at time.Time) error {
	if err := tx.DeleteRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)`, userID, h, at.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRecoveryCodes deletes the user's recovery codes.
func (tx *Tx) DeleteRecoveryCodes(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
	return err
}

// UseRecoveryCode spends the user's unused code with the hash; ErrNotFound
// if there is none (wrong, or used already, perhaps a moment ago by a
// concurrent request).
func (tx *Tx) UseRecoveryCode(ctx context.Context, userID int64, hash string, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		at.UnixMicro(), userID, hash))
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (q q) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, q.err(err)
}

// A Ceremony is a WebAuthn ceremony under way.
type Ceremony struct {
	ID        string // SHA-256 (hex) of the token its browser holds
	UserID    int64  // 0: passwordless sign-in
	Kind      string
	Data      []byte // the library's session data, JSON
	ExpiresAt time.Time
}

// PutCeremony stores c, and deletes ceremonies that expired before now.
func (tx *Tx) PutCeremony(ctx context.Context, c Ceremony, now time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < ?`, now.UnixMicro()); err != nil {
		return err
	}
	var user any
	if c.UserID != 0 {
		user = c.UserID
	}
	_, err := tx.exec(ctx, `INSERT INTO webauthn_ceremonies (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, user, c.Kind, string(c.Data), c.ExpiresAt.UnixMicro())
	return err
}

// TakeCeremony deletes and returns the ceremony with the id and kind if
// it has not expired at now: a ceremony is used once, even by concurrent
// requests. ErrNotFound if there is none (unknown, used or expired).
func (tx *Tx) TakeCeremony(ctx context.Context, id, kind string, now time.Time) (Ceremony, error) {
	var c Ceremony
	var user sql.NullInt64
	var data string
	var exp int64
	err := tx.row(ctx, `DELETE FROM webauthn_ceremonies WHERE id = ? AND kind = ? RETURNING user_id, data, expires_at`, id, kind).
		Scan(&user, &data, &exp)
	if err != nil {
		return Ceremony{}, tx.err(err)
	}
	c = Ceremony{ID: id, UserID: user.Int64, Kind: kind, Data: []byte(data), ExpiresAt: time.UnixMicro(exp).UTC()}
	if !c.ExpiresAt.After(now) {
		return Ceremony{}, ErrNotFound
	}
	return c, nil
}

// SomeTOTPFactor returns a confirmed TOTP factor of any user, the oldest;
// ErrNotFound if there is none. A server checks its factor key on it.
func (q q) SomeTOTPFactor(ctx context.Context) (*Factor, error) {
	f, err := scanFactor(q.row(ctx, `SELECT `+factorCols+` FROM factors WHERE kind = ? AND confirmed_at IS NOT NULL ORDER BY id LIMIT 1`, FactorTOTP))
	return f, q.err(err)
}

// TOTPFactors returns every confirmed TOTP factor of every user, by id.
func (q q) TOTPFactors(ctx context.Context) ([]*Factor, error) {
	rows, err := q.query(ctx, `SELECT `+factorCols+` FROM factors WHERE kind = ? AND confirmed_at IS NOT NULL ORDER BY id`, FactorTOTP)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanFactor)
}

// ClaimFactorKey records fingerprint as the factor key's unless one is
// recorded already, and returns the recorded one.
func (tx *Tx) ClaimFactorKey(ctx context.Context, fingerprint string, at time.Time) (string, error) {
	if _, err := tx.exec(ctx, `INSERT INTO factor_key (id, fingerprint, set_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		fingerprint, at.UnixMicro()); err != nil {
		return "", err
	}
	var got string
	err := tx.row(ctx, `SELECT fingerprint FROM factor_key WHERE id = 1`).Scan(&got)
	return got, tx.err(err)
}

// SetFactorKey records fingerprint as the factor key's, replacing any.
func (tx *Tx) SetFactorKey(ctx context.Context, fingerprint string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO factor_key (id, fingerprint, set_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, set_at = excluded.set_at`, fingerprint, at.UnixMicro())
	return err
}
