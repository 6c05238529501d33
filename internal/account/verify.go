package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Email verification (OSSF-AUTHN-1.1)
//
// A user cannot publish until they proved they read mail at their address:
// Verifications.Send mails a link holding a random secret (only its
// SHA-256 is stored; it lasts VerifyLifetime and works once), and
// Verifications.Verify, given the secret back, marks the address verified
// if it is still the account's. An operator may vouch for an address
// instead (MarkVerified: trove admin user verify, or user add --verified),
// which is logged.

// VerifyLifetime is how long a verification link works.
const VerifyLifetime = 24 * time.Hour

// ErrBadLink reports an unknown, used or expired link.
var ErrBadLink = errors.New("this link is invalid, expired or already used")

// Verifications sends and checks email verification links.
type Verifications struct {
	db     *meta.DB
	outbox *mail.Outbox
	notes  *Notifications
	base   string
	now    func() time.Time
}

// NewVerifications returns the verification service; notes records the
// verification as a security event (nil: not recorded). now may be nil.
func NewVerifications(db *meta.DB, outbox *mail.Outbox, notes *Notifications, baseURL string, now func() time.Time) *Verifications {
	if now == nil {
		now = time.Now
	}
	return &Verifications{db: db, outbox: outbox, notes: notes, base: strings.TrimRight(baseURL, "/"), now: now}
}

// newSecret returns a random URL-safe secret and its stored hash.
func newSecret() (string, string) {
	b := make([]byte, 32)
	rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, hashSecret(s)
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Send mails u a verification link for their current address, inside tx
// if given (sign-up: durable with the account), else in its own.
func (v *Verifications) Send(ctx context.Context, tx *meta.Tx, u *trove.User) error {
	if tx == nil {
		return v.db.Tx(ctx, func(tx *meta.Tx) error { return v.Send(ctx, tx, u) })
	}
	secret, hash := newSecret()
	now := v.now().UTC()
	t := &meta.MailToken{Hash: hash, Kind: "verify", UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(VerifyLifetime)}
	if err := tx.InsertMailToken(ctx, t); err != nil {
		return fmt.Errorf("storing a verification link: %w", err)
	}
	link := v.base + "/-/verify-email?token=" + url.QueryEscape(secret)
	body := fmt.Sprintf("Hello %s,\n\nplease confirm that %s is your address on Trove by opening this link\n(it works once, for %s):\n\n    %s\n\n"+
		"Until you do, you cannot publish packages.\n\nIf you did not create an account on %s, ignore this mail.\n",
		u.Name, u.Email, "24 hours", link, v.base)
	return v.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: "Verify your email address for Trove", Body: body, Kind: "verify-email"})
}

// Resend mails a new link to the user with the name unless their address
// is verified already.
func (v *Verifications) Resend(ctx context.Context, u *trove.User) error {
	at, err := v.db.EmailVerifiedAt(ctx, u.ID)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return trove.Error(trove.ErrInvalid, "the email address of %s is verified already", u.Name)
	}
	return v.Send(ctx, nil, u)
}

// Verify uses the secret of a link and marks its address verified; it
// returns the user. A link to an address the account no longer has is
// ErrBadLink too.
func (v *Verifications) Verify(ctx context.Context, secret string) (*trove.User, error) {
	hash := hashSecret(secret)
	var u *trove.User
	err := v.db.Tx(ctx, func(tx *meta.Tx) error {
		now := v.now().UTC()
		t, err := tx.MailTokenByHash(ctx, "verify", hash, now)
		if err != nil {
			return err
		}
		if err := tx.UseMailToken(ctx, hash, now); err != nil {
			return err
		}
		if err := tx.SetEmailVerified(ctx, t.UserID, t.Email, now); err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		return v.note(ctx, tx, Event{Kind: EventEmailVerified, UserID: u.ID, Detail: u.Email, At: now})
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
	}
	if err != nil {
		return nil, fmt.Errorf("verifying an email address: %w", err)
	}
	return u, nil
}

func (v *Verifications) note(ctx context.Context, tx *meta.Tx, e Event) error {
	if v.notes == nil {
		return nil
	}
	return v.notes.NotifyTx(ctx, tx, e)
}

// MarkVerified records, on an operator's word, that the user's current
// address is theirs. by names the operator, for the log.
func (v *Verifications) MarkVerified(ctx context.Context, u *trove.User, by string) error {
	now := v.now().UTC()
	err := v.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.SetEmailVerified(ctx, u.ID, u.Email, now); err != nil {
			return err
		}
		return v.note(ctx, tx, Event{Kind: EventEmailVerified, UserID: u.ID, Detail: u.Email + " (vouched for by an administrator)", Client: by, At: now})
	})
	if err != nil {
		return fmt.Errorf("marking the email address of %s verified: %w", u.Name, err)
	}
	slog.Info("email address marked verified by an operator", "user", u.Name, "by", by)
	return nil
}

// Verified reports whether the user's address is verified.
func (v *Verifications) Verified(ctx context.Context, userID int64) (bool, error) {
	at, err := v.db.EmailVerifiedAt(ctx, userID)
	return !at.IsZero(), err
}

// SetVerifications makes Create mail a verification link to every new
// account whose address an operator did not vouch for.
func (s *Users) SetVerifications(v *Verifications) { s.verify = v }

// verifyNew marks a new account's address verified, or mails it a link,
// in the transaction that creates the account.
func (s *Users) verifyNew(ctx context.Context, tx *meta.Tx, u *trove.User, vouched bool) error {
	if vouched {
		return tx.SetEmailVerified(ctx, u.ID, u.Email, u.CreatedAt)
	}
	if s.verify == nil {
		return nil
	}
	return s.verify.Send(ctx, tx, u)
}
