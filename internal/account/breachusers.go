package account

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// SetBreaches makes sign-up, password changes and resets refuse
// passwords found by b, and sign-ins with such a password flag the
// account (see [Users.SignIn]). A corpus that cannot be consulted fails
// open: the password is accepted and a warning logged, because the next
// sign-in checks again (docs/security/account-recovery.md).
func (s *Users) SetBreaches(b Breaches) { s.breaches = b }

// notify hands e to the notifier; a failure is logged, since the change
// it reports has happened.
func (s *Users) notify(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	slog.Info("account security event", "event", string(e.Kind), "user_id", e.UserID, "client", e.Client) // the detail may name addresses: it goes to the owner only
	if s.notifier == nil {
		return
	}
	if err := s.notifier.Notify(ctx, e); err != nil {
		slog.Error("account security event not recorded nor mailed", "event", string(e.Kind), "user_id", e.UserID, "err", err)
	}
}

// breachCount asks the corpus about pw; -1 means it could not (logged).
func (s *Users) breachCount(ctx context.Context, pw, when string) int {
	if s.breaches == nil {
		return 0
	}
	n, err := s.breaches.Seen(ctx, pw)
	if err != nil {
		slog.Warn("breached-password check unavailable: accepting the password unchecked (checked again at the next sign-in)",
			"at", when, "err", err)
		return -1
	}
	return n
}

// refuseBreached returns BreachedError if pw is in the corpus.
func (s *Users) refuseBreached(ctx context.Context, pw, when string) error {
	if n := s.breachCount(ctx, pw, when); n > 0 {
		return BreachedError(n)
	}
	return nil
}

// flagBreached, after a successful sign-in, flags the account if its
// password is in the corpus (users.password_reset: the web leads to the
// password change; no token can be created and nothing can be published
// until then) and tells the owner.
func (s *Users) flagBreached(ctx context.Context, u *trove.User, pw string, from netip.Addr) {
	n := s.breachCount(ctx, pw, "sign-in")
	if n <= 0 {
		return
	}
	err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetPasswordReset(ctx, u.ID, true) })
	if err != nil {
		slog.Error("could not flag an account whose password is breached", "user", u.Name, "err", err)
		return
	}
	u.PasswordReset = true
	slog.Warn("sign-in with a breached password: the account must change it before creating tokens or publishing", "user", u.Name, "breaches", n)
	s.notify(ctx, Event{Kind: EventBreachedPassword, UserID: u.ID, Client: clientString(from),
		Detail: fmt.Sprintf("your password appears in %d known breaches: change it before you create tokens or publish", n)})
}

func clientString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// checkNewPassword applies the password policy and the breach check.
func (s *Users) checkNewPassword(ctx context.Context, u *trove.User, pw, when string) error {
	if err := CheckPasswordPolicy(pw, u.Name, u.Email); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.refuseBreached(ctx, pw, when)
}

// storePassword sets the hash, clears a forced or breach reset and ends
// the reset links in flight.
func storePassword(ctx context.Context, tx *meta.Tx, userID int64, hash string, now time.Time) error {
	if err := tx.SetPassword(ctx, userID, hash); err != nil {
		return err
	}
	if err := tx.SetPasswordReset(ctx, userID, false); err != nil {
		return err
	}
	return tx.EndPasswordResets(ctx, userID, now)
}
