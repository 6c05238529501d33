package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"time"

	trovemail "github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Invitations ([accounts] signup = "invite")
//
// An administrator invites an address (trove admin invite EMAIL); the
// invitation is a link holding a random secret (only its SHA-256 is
// stored; it works once, for InviteLifetime) to /-/signup?invite=S, where
// the invitee chooses a name and a password. Following the link proves
// the invitee reads mail at the address, so the new account's address is
// verified at once.

// InviteLifetime is how long an invitation works.
const InviteLifetime = 7 * 24 * time.Hour

// Invite mails an invitation to email from the administrator by.
func (v *Verifications) Invite(ctx context.Context, email string, by *trove.User) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return trove.Error(trove.ErrInvalid, "%q is not a plain address like name@example.com", email)
	}
	secret, hash := newSecret()
	now := v.now().UTC()
	t := &meta.MailToken{Hash: hash, Kind: "invite", Email: addr.Address, CreatedAt: now, ExpiresAt: now.Add(InviteLifetime)}
	if by != nil {
		t.CreatedBy = by.ID
	}
	link := v.base + "/-/signup?invite=" + url.QueryEscape(secret)
	body := fmt.Sprintf("Hello,\n\nyou are invited to create an account on the package registry at %s.\n"+
		"Choose your user name and password here (the link works once, for 7 days):\n\n    %s\n\n"+
		"If you did not expect this invitation, ignore this mail.\n", v.base, link)
	err = v.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertMailToken(ctx, t); err != nil {
			return err
		}
		return v.outbox.Enqueue(ctx, tx, trovemail.Message{To: addr.Address, Subject: "Your invitation to Trove", Body: body, Kind: "invite"})
	})
	if err != nil {
		return fmt.Errorf("inviting %s: %w", addr.Address, err)
	}
	slog.Info("invitation sent", "to", trovemail.Redact(addr.Address), "by", nameOf(by))
	return nil
}

func nameOf(u *trove.User) string {
	if u == nil {
		return "operator"
	}
	return u.Name
}

// InvitedEmail returns the address an unused, unexpired invitation was
// sent to, or ErrBadLink.
func (v *Verifications) InvitedEmail(ctx context.Context, secret string) (string, error) {
	t, err := v.db.MailTokenByHash(ctx, "invite", hashSecret(secret), v.now().UTC())
	if errors.Is(err, meta.ErrNotFound) {
		return "", trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
	}
	if err != nil {
		return "", err
	}
	return t.Email, nil
}

// AcceptInvite creates the account nu with the invitation's address,
// verified, and uses the invitation, in one transaction: an invitation
// makes one account.
func (s *Users) AcceptInvite(ctx context.Context, secret string, nu NewUser) (*trove.User, error) {
	if s.verify == nil {
		return nil, errors.New("invitations need mail (SetVerifications)")
	}
	email, err := s.verify.InvitedEmail(ctx, secret)
	if err != nil {
		return nil, err
	}
	nu.Email, nu.Verified = email, true
	return s.create(ctx, nu, func(ctx context.Context, tx *meta.Tx) error {
		err := tx.UseMailToken(ctx, hashSecret(secret), s.now().UTC())
		if errors.Is(err, meta.ErrNotFound) {
			return trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
		}
		return err
	})
}
