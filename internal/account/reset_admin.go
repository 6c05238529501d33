package account

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Administrator-assisted recovery (docs/security/account-recovery.md)

// A Recovery is what an administrator does for a user who lost every
// other way back in, after checking who they are.
type Recovery struct {
	Name string
	// NewEmail replaces the account's address; empty keeps it.
	NewEmail string
	// Operator names the administrator, and Reason the checks they made
	// (a ticket reference): both are recorded in the security event.
	Operator string
	Reason   string
}

// Recover changes the account's address (if asked), ends its reset
// links and revokes all its API tokens and browser sessions (a recovered
// account starts with none an impostor may hold). It records an EventAdminRecovery once
// before the change (mailed to the old address) and once after (to the
// new one), and logs it with the operator. It returns the account and
// how many tokens it revoked.
func (s *Users) Recover(ctx context.Context, rc Recovery) (*trove.User, int, error) {
	if strings.TrimSpace(rc.Operator) == "" || strings.TrimSpace(rc.Reason) == "" {
		return nil, 0, fmt.Errorf("%w: an assisted recovery needs the operator's name and the reason (the identity checks made, a ticket)", ErrInvalid)
	}
	u, err := s.ByName(ctx, rc.Name)
	if err != nil {
		return nil, 0, err
	}
	old := u.Email
	if rc.NewEmail != "" {
		if rc.NewEmail, err = CheckEmail(rc.NewEmail); err != nil {
			return nil, 0, err
		}
	}
	what := "revoked all API tokens, browser sessions, password reset links and any pending change of email address"
	if rc.NewEmail != "" && !strings.EqualFold(rc.NewEmail, old) {
		what = fmt.Sprintf("changed the email address from %s to %s, ", old, rc.NewEmail) + what
	}
	detail := fmt.Sprintf("administrator %s recovered your account: %s (reason: %s)", rc.Operator, what, rc.Reason)
	s.notify(ctx, Event{Kind: EventAdminRecovery, UserID: u.ID, Client: "operator " + rc.Operator, Detail: detail})
	now := s.now().UTC()
	var revoked int
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if rc.NewEmail != "" {
			if err := tx.SetUserEmail(ctx, u.ID, rc.NewEmail); err != nil {
				return err
			}
			if err := tx.PublicEmailChanged(ctx, u.ID, now); err != nil {
				return err
			}
			// The operator checked who the owner is before recovering
			// (docs/security/account-recovery.md): the new address is
			// verified on their word, as trove admin user verify does.
			if err := tx.SetEmailVerified(ctx, u.ID, rc.NewEmail, now); err != nil {
				return err
			}
		}
		if err := tx.EndPasswordResets(ctx, u.ID, now); err != nil {
			return err
		}
		// A pending change of address may be the intruder's.
		if _, err := tx.EndMailTokens(ctx, kindEmailChange, u.ID, now); err != nil {
			return err
		}
		if revoked, err = tx.RevokeTokensOfUser(ctx, u.ID, now); err != nil {
			return err
		}
		_, err := tx.RevokeWebSessionsOfUser(ctx, u.ID, 0, now)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("recovering %s: %w", u.Name, err)
	}
	if rc.NewEmail != "" {
		u.Email = rc.NewEmail
		s.notify(ctx, Event{Kind: EventAdminRecovery, UserID: u.ID, Client: "operator " + rc.Operator, Detail: detail})
	}
	slog.Warn("administrator-assisted account recovery", "user", u.Name, "operator", rc.Operator, "reason", rc.Reason,
		"old_email", old, "new_email", u.Email, "tokens_revoked", revoked)
	return u, revoked, nil
}

// IssueLink makes a reset link for u without mailing it or checking its
// domain: an administrator hands it over after checking who asks for it.
func (r *Resets) IssueLink(ctx context.Context, u *trove.User) (string, error) {
	now := r.users.now().UTC()
	token, hash := newResetToken()
	reset := meta.PasswordReset{TokenHash: hash, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}
	if err := r.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertPasswordReset(ctx, reset) }); err != nil {
		return "", fmt.Errorf("storing the reset: %w", err)
	}
	return r.link(token), nil
}
