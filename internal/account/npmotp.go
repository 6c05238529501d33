package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// npm's web one-time passwords ("webauth"): a write that needs a second
// factor answers 401 with authUrl and doneUrl in its body. The user opens
// authUrl, a web page where they confirm the operation from a session
// that proved the level the operation needs (a security key for a
// critical package); npm polls doneUrl and receives a one-time value,
// which it sends back as npm-otp on the same request. The value raises
// that request to the level the confirming session had proved.
//
// Three secrets, of which only hashes are stored: the auth secret (in
// authUrl), the done secret (in doneUrl) and the one-time value (handed
// out once, by the first poll after the confirmation). A challenge is
// bound to its user (the confirming session and the polling token must be
// theirs) and to the request it was made for (method and path), lives
// NPMOTPTTL from its creation, and is deleted when its value is used.
const NPMOTPTTL = 5 * time.Minute

// ErrNPMOTPNotFound reports an unknown, expired or used web one-time
// password, or one of another user: the same answer for each, so that
// nothing tells whether a challenge exists.
var ErrNPMOTPNotFound = fmt.Errorf("%w: this one-time password request is unknown, expired or already used; run the npm command again", trove.ErrNotFound)

// ErrNPMOTPOperation reports a one-time value sent with another request
// than the one it was made for.
var ErrNPMOTPOperation = errors.New("this one-time password was made for another operation")

// A NPMOTPLevelError reports a confirmation from a web session that did
// not prove the level the operation needs.
type NPMOTPLevelError struct {
	Have, Need trove.AuthLevel
}

func (e *NPMOTPLevelError) Error() string {
	return fmt.Sprintf("this operation needs a %s sign-in, and this session signed in with %s: sign out and sign in again with %s",
		e.Need, e.Have, howTo(e.Need))
}

func (e *NPMOTPLevelError) Unwrap() error { return trove.ErrInvalid }

func howTo(l trove.AuthLevel) string {
	if l >= trove.AuthPhishingResistant {
		return "a security key or passkey"
	}
	return "a second factor"
}

// NPMOTPs runs npm's web one-time passwords.
type NPMOTPs struct {
	db  *meta.DB
	now func() time.Time
}

// NewNPMOTPs returns the service. now may be nil for time.Now.
func NewNPMOTPs(db *meta.DB, now func() time.Time) *NPMOTPs {
	if now == nil {
		now = time.Now
	}
	return &NPMOTPs{db: db, now: now}
}

// A NPMOTPChallenge is what the confirmation page shows.
type NPMOTPChallenge struct {
	Operation string
	Needs     trove.AuthLevel
	ExpiresAt time.Time
}

// Start creates a challenge of the user for the operation (the request's
// method and path) at level needs, and returns its auth and done secrets.
func (o *NPMOTPs) Start(ctx context.Context, userID int64, operation string, needs trove.AuthLevel) (authID, doneID string, err error) {
	authID, doneID = secret(), secret()
	at := o.now().UTC()
	c := &meta.NPMOTPChallenge{AuthHash: access.HashToken(authID), DoneHash: access.HashToken(doneID), UserID: userID,
		Operation: operation, Needs: int(needs), CreatedAt: at, ExpiresAt: at.Add(NPMOTPTTL)}
	if err := o.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertNPMOTPChallenge(ctx, c) }); err != nil {
		return "", "", fmt.Errorf("starting a web one-time password: %w", err)
	}
	return authID, doneID, nil
}

// live returns the challenge find finds by the hash of secret if it has
// not expired and is userID's.
func (o *NPMOTPs) live(ctx context.Context, find func(context.Context, string) (*meta.NPMOTPChallenge, error), secret string, userID int64) (*meta.NPMOTPChallenge, error) {
	c, err := find(ctx, access.HashToken(secret))
	if errors.Is(err, meta.ErrNotFound) || err == nil && (!o.now().Before(c.ExpiresAt) || c.UserID != userID) {
		return nil, ErrNPMOTPNotFound
	}
	return c, err
}

// Pending returns the user's unconfirmed challenge with the auth secret.
func (o *NPMOTPs) Pending(ctx context.Context, authID string, u *trove.User) (*NPMOTPChallenge, error) {
	c, err := o.live(ctx, o.db.NPMOTPChallengeByAuth, authID, u.ID)
	if err != nil {
		return nil, err
	}
	if c.AuthLevel != 0 {
		return nil, ErrNPMOTPNotFound
	}
	return &NPMOTPChallenge{Operation: c.Operation, Needs: trove.AuthLevel(c.Needs), ExpiresAt: c.ExpiresAt}, nil
}

// Confirm records that u confirmed the challenge from a web session that
// had proved level, which must meet what the challenge needs.
func (o *NPMOTPs) Confirm(ctx context.Context, authID string, u *trove.User, level trove.AuthLevel) error {
	c, err := o.live(ctx, o.db.NPMOTPChallengeByAuth, authID, u.ID)
	if err != nil {
		return err
	}
	if need := trove.AuthLevel(c.Needs); !level.Meets(need) {
		return &NPMOTPLevelError{Have: level, Need: need}
	}
	err = o.db.Tx(ctx, func(tx *meta.Tx) error { return tx.ConfirmNPMOTPChallenge(ctx, c.ID, int(level)) })
	if errors.Is(err, meta.ErrNotFound) {
		return ErrNPMOTPNotFound
	}
	return err
}

// Poll returns "" while the user's challenge with the done secret is not
// confirmed, and once it is, its one-time value, handed out once: a
// later poll finds nothing.
func (o *NPMOTPs) Poll(ctx context.Context, doneID string, userID int64) (string, error) {
	c, err := o.live(ctx, o.db.NPMOTPChallengeByDone, doneID, userID)
	if err != nil || c.AuthLevel == 0 {
		return "", err
	}
	otp := "npmotp_" + secret()
	err = o.db.Tx(ctx, func(tx *meta.Tx) error { return tx.IssueNPMOTP(ctx, c.ID, access.HashToken(otp)) })
	if errors.Is(err, meta.ErrNotFound) {
		return "", ErrNPMOTPNotFound
	}
	return otp, err
}

// Redeem uses the one-time value for the user's operation and returns the
// level it proves. It works once, before the challenge expires.
func (o *NPMOTPs) Redeem(ctx context.Context, otp string, userID int64, operation string) (trove.AuthLevel, error) {
	c, err := o.live(ctx, o.db.NPMOTPChallengeByOTP, otp, userID)
	if err != nil {
		return trove.AuthNone, err
	}
	if c.Operation != operation {
		return trove.AuthNone, ErrNPMOTPOperation
	}
	err = o.db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteNPMOTPChallenge(ctx, c.ID) })
	if errors.Is(err, meta.ErrNotFound) {
		return trove.AuthNone, ErrNPMOTPNotFound
	}
	if err != nil {
		return trove.AuthNone, err
	}
	return trove.AuthLevel(c.AuthLevel), nil
}

// IsNPMOTP reports whether an npm-otp value is a web one-time password
// (rather than an authenticator's code).
func IsNPMOTP(s string) bool { return len(s) == len("npmotp_")+64 && s[:7] == "npmotp_" }
