package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// ChangePassword replaces the user's password after checking the current
// one (through SignIn, so its throttle applies) and the password policy.
// It clears a forced reset. The caller ends the user's other sessions.
func (s *Users) ChangePassword(ctx context.Context, u *trove.User, current, next string, d Device) error {
	if _, err := s.SignIn(ctx, u.Name, current, remoteOf(d)); err != nil {
		if errors.Is(err, ErrBadCredentials) {
			return fmt.Errorf("%w: the current password is wrong", ErrInvalid)
		}
		return err
	}
	return s.SetPassword(ctx, u, next)
}

// SetPassword replaces the user's password without asking for the current
// one (an administrator's reset, or a recovery), after the policy check
// and the breach check, clears a forced reset and ends the password reset
// links in flight.
func (s *Users) SetPassword(ctx context.Context, u *trove.User, next string) error {
	if err := s.checkNewPassword(ctx, u, next, "password change"); err != nil {
		return err
	}
	var hash string
	if err := s.hash(ctx, func() { hash = HashPassword(next) }); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *meta.Tx) error { return storePassword(ctx, tx, u.ID, hash, s.now().UTC()) })
	if err != nil {
		return fmt.Errorf("changing the password of %s: %w", u.Name, err)
	}
	u.PasswordReset = false
	return nil
}

// SetDisabled disables the user's account (or enables it again). A
// disabled account cannot sign in; its tokens (access.Tokens.Authenticate)
// and sessions (Sessions.Authenticate) stop working, and come back if it
// is enabled. The caller also drops the tokens cached on this replica
// (access.Tokens.Forget).
func (s *Users) SetDisabled(ctx context.Context, u *trove.User, disabled bool) error {
	var at time.Time // zero: enabled
	if disabled {
		at = s.now().UTC()
	}
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, u.ID, at) }); err != nil {
		return fmt.Errorf("changing whether %s is disabled: %w", u.Name, err)
	}
	u.DisabledAt = at
	return nil
}

// remoteOf returns a device's client address for the sign-in throttle.
func remoteOf(d Device) netip.Addr {
	a, _ := netip.ParseAddr(d.Client)
	return a
}

// ForceReset makes the user's next sign-in lead to a password change
// before anything else.
func (s *Users) ForceReset(ctx context.Context, u *trove.User) error {
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetPasswordReset(ctx, u.ID, true) }); err != nil {
		return fmt.Errorf("forcing a password reset of %s: %w", u.Name, err)
	}
	u.PasswordReset = true
	return nil
}

// Page returns at most limit users whose names sort after the name after,
// by name.
func (s *Users) Page(ctx context.Context, after string, limit int) ([]*trove.User, error) {
	return s.db.UsersPage(ctx, after, limit)
}

// ByID returns the user with the id, or an error wrapping
// trove.ErrNotFound.
func (s *Users) ByID(ctx context.Context, id int64) (*trove.User, error) {
	u, err := s.db.UserByID(ctx, id)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "no user %d", id)
	}
	return u, err
}
