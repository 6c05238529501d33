package meta

import (
	"context"
	"database/sql"
	"time"
)

// An NPMOTPChallenge is a pending web one-time password of npm: the user
// confirms it on a web page with the auth secret, npm polls with the done
// secret and gets the one-time value, whose hash is then OTPHash.
type NPMOTPChallenge struct {
	ID        int64
	AuthHash  string
	DoneHash  string
	OTPHash   string // "" until the poll hands the value out
	UserID    int64
	Operation string // the request it was made for: "<method> <path>"
	Needs     int    // the level it asks (trove.AuthLevel)
	AuthLevel int    // the level the confirming web session had; 0 until confirmed
	CreatedAt time.Time
	ExpiresAt time.Time
}

const npmOTPCols = `id, auth_hash, done_hash, otp_hash, user_id, operation, needs, auth_level, created_at, expires_at`

func scanNPMOTP(s interface{ Scan(...any) error }) (*NPMOTPChallenge, error) {
	var c NPMOTPChallenge
	var otp sql.NullString
	var created, expires int64
	if err := s.Scan(&c.ID, &c.AuthHash, &c.DoneHash, &otp, &c.UserID, &c.Operation, &c.Needs, &c.AuthLevel, &created, &expires); err != nil {
		return nil, err
	}
	c.OTPHash = otp.String
	c.CreatedAt, c.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return &c, nil
}

// InsertNPMOTPChallenge adds c and sets c.ID. Expired challenges are removed first.
func (tx *Tx) InsertNPMOTPChallenge(ctx context.Context, c *NPMOTPChallenge) error {
	if _, err := tx.exec(ctx, `DELETE FROM npm_otp_challenges WHERE expires_at < ?`, c.CreatedAt.UnixMicro()); err != nil {
		return err
	}
	id, err := tx.insert(ctx, `INSERT INTO npm_otp_challenges (auth_hash, done_hash, user_id, operation, needs, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.AuthHash, c.DoneHash, c.UserID, c.Operation, c.Needs, c.CreatedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
	c.ID = id
	return err
}

// NPMOTPChallengeByAuth returns the challenge whose auth secret hashes to h.
func (q q) NPMOTPChallengeByAuth(ctx context.Context, h string) (*NPMOTPChallenge, error) {
	c, err := scanNPMOTP(q.row(ctx, `SELECT `+npmOTPCols+` FROM npm_otp_challenges WHERE auth_hash = ?`, h))
	return c, q.err(err)
}

// NPMOTPChallengeByDone returns the challenge whose done secret hashes to h.
func (q q) NPMOTPChallengeByDone(ctx context.Context, h string) (*NPMOTPChallenge, error) {
	c, err := scanNPMOTP(q.row(ctx, `SELECT `+npmOTPCols+` FROM npm_otp_challenges WHERE done_hash = ?`, h))
	return c, q.err(err)
}

// NPMOTPChallengeByOTP returns the challenge whose one-time value hashes to h.
func (q q) NPMOTPChallengeByOTP(ctx context.Context, h string) (*NPMOTPChallenge, error) {
	c, err := scanNPMOTP(q.row(ctx, `SELECT `+npmOTPCols+` FROM npm_otp_challenges WHERE otp_hash = ?`, h))
	return c, q.err(err)
}

// ConfirmNPMOTPChallenge records the level the confirming session had,
// once: ErrNotFound if it was confirmed already.
func (tx *Tx) ConfirmNPMOTPChallenge(ctx context.Context, id int64, level int) error {
	return affected(tx.exec(ctx, `UPDATE npm_otp_challenges SET auth_level = ? WHERE id = ? AND auth_level = 0`, level, id))
}

// IssueNPMOTP records the hash of the one-time value of a confirmed
// challenge, once: ErrNotFound if it was issued already or is not confirmed.
func (tx *Tx) IssueNPMOTP(ctx context.Context, id int64, otpHash string) error {
	return affected(tx.exec(ctx, `UPDATE npm_otp_challenges SET otp_hash = ? WHERE id = ? AND otp_hash IS NULL AND auth_level > 0`, otpHash, id))
}

// DeleteNPMOTPChallenge removes the challenge: ErrNotFound if it is gone already.
func (tx *Tx) DeleteNPMOTPChallenge(ctx context.Context, id int64) error {
	return affected(tx.exec(ctx, `DELETE FROM npm_otp_challenges WHERE id = ?`, id))
}
