package account

import (
	"context"
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

// Changing the email address (OSSF-AUTHN-1.4, docs/accounts.md)
//
// The address is where password resets go, so whoever changes it owns the
// account. A change therefore happens in two steps, as on the large public
// registries:
//
//   - RequestChange (the account page, in sudo mode) mails a link to the
//     NEW address (a random 256-bit secret, only its SHA-256 stored in
//     mail_tokens, single use, EmailChangeLifetime) and tells the OLD
//     verified address that a change was asked for, from where, and how
//     to cancel it. The account keeps its old address meanwhile. A new
//     request replaces the pending one; CancelChange ends it.
//   - ConfirmChange, given the secret back (a POST: links never act on
//     GET), switches the address, marks the new one verified, records
//     EventEmailChanged and mails the OLD address that it changed, in one
//     transaction.
//
// An operator may set an address on their word instead (SetEmail with
// verified: trove admin user set --email --verified), which is logged and
// told to the old address in the same way.
//
// Addresses are not unique (sign-up does not check either), so a request
// for an address another account has says nothing about that account.

// Email change limits.
const (
	// EmailChangeLifetime is how long a link to confirm a new address works.
	EmailChangeLifetime = 24 * time.Hour
	// EmailChangesPerHour bounds the changes one account may ask for per
	// hour: each mails a stranger's address, so an account must not be
	// a way to flood many inboxes (the outbox's per-recipient limit
	// bounds what one address receives).
	EmailChangesPerHour = 5
)

// kindEmailChange is the mail_tokens kind of a pending change.
const kindEmailChange = "email-change"

// A PendingEmail is a change of address that waits for its link.
type PendingEmail struct {
	Email       string // the new address
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// RequestChange asks for u's address to become email: it mails the link
// that confirms it to email and tells u's current address, if verified,
// that the change was asked for from client. A pending change ends. It
// returns an error wrapping ErrInvalid for an unacceptable address, and
// trove.ErrTooMany (with the time to wait) past EmailChangesPerHour;
// then nothing changed.
func (v *Verifications) RequestChange(ctx context.Context, u *trove.User, email, client string) error {
	email, err := CheckEmail(strings.TrimSpace(email))
	if err != nil {
		return err
	}
	if strings.EqualFold(email, u.Email) {
		return fmt.Errorf("%w: %s is your address already", ErrInvalid, email)
	}
	now := v.now().UTC()
	secret, hash := newSecret()
	err = v.db.Tx(ctx, func(tx *meta.Tx) error {
		// Under the user's row lock: two requests at once count each other.
		if err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		n, err := tx.CountMailTokens(ctx, kindEmailChange, u.ID, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= EmailChangesPerHour {
			return trove.Retry(time.Hour, trove.ErrTooMany, "you asked for %d changes of your email address in the last hour; try again in an hour", n)
		}
		if _, err := tx.EndMailTokens(ctx, kindEmailChange, u.ID, now); err != nil {
			return err
		}
		t := &meta.MailToken{Hash: hash, Kind: kindEmailChange, UserID: u.ID, Email: email, CreatedAt: now, ExpiresAt: now.Add(EmailChangeLifetime)}
		if err := tx.InsertMailToken(ctx, t); err != nil {
			return err
		}
		link := v.base + "/-/email-change?token=" + url.QueryEscape(secret)
		body := fmt.Sprintf("Hello %s,\n\nyou asked to change the email address of your account on Trove to this one,\n%s. To confirm, open this link (it works once, for %s):\n\n    %s\n\n"+
			"Until you do, your account keeps its current address.\n\nIf you did not ask for this, ignore this mail: nothing changes.\n",
			u.Name, email, "24 hours", link)
		if err := v.outbox.Enqueue(ctx, tx, mail.Message{To: email, Subject: "Confirm your new email address for Trove", Body: body, Kind: "email-change-confirm"}); err != nil {
			return err
		}
		return v.note(ctx, tx, Event{Kind: EventEmailChangeRequested, UserID: u.ID, Client: client, At: now,
			Detail: fmt.Sprintf("to %s; it happens only once the link mailed there is followed (within 24 hours). Cancel it at %s/-/account", email, v.base)})
	})
	if errors.Is(err, trove.ErrTooMany) {
		return err
	}
	if err != nil {
		return fmt.Errorf("asking to change the email address of %s: %w", u.Name, err)
	}
	slog.Info("email address change asked for", "user", u.Name, "to", mail.Redact(email), "client", client)
	return nil
}

// PendingChange returns the user's pending change of address, or nil.
func (v *Verifications) PendingChange(ctx context.Context, userID int64) (*PendingEmail, error) {
	t, err := v.db.PendingMailToken(ctx, kindEmailChange, userID, v.now().UTC())
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up a pending change of email address: %w", err)
	}
	return &PendingEmail{Email: t.Email, RequestedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}, nil
}

// CancelChange ends u's pending change of address: its link stops
// working. Without one it returns an error wrapping ErrInvalid.
func (v *Verifications) CancelChange(ctx context.Context, u *trove.User, client string) error {
	now := v.now().UTC()
	var n int
	err := v.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		n, err = tx.EndMailTokens(ctx, kindEmailChange, u.ID, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("cancelling the change of email address of %s: %w", u.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no change of your email address is pending", ErrInvalid)
	}
	slog.Info("email address change cancelled", "user", u.Name, "client", client)
	return nil
}

// CheckChange returns the account and the new address of a live link,
// without using it (the page that asks to confirm).
func (v *Verifications) CheckChange(ctx context.Context, secret string) (*trove.User, string, error) {
	t, err := v.db.MailTokenByHash(ctx, kindEmailChange, hashSecret(secret), v.now().UTC())
	if errors.Is(err, meta.ErrNotFound) {
		return nil, "", trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
	}
	if err != nil {
		return nil, "", fmt.Errorf("checking a link: %w", err)
	}
	u, err := v.db.UserByID(ctx, t.UserID)
	if err != nil || u.Disabled() {
		return nil, "", trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
	}
	return u, t.Email, nil
}

// ConfirmChange uses the secret of a link RequestChange mailed: the
// account's address becomes the new one, verified, and the old address
// (if it was verified) is told. It returns the user as changed. An
// unknown, used, replaced, cancelled or expired link, or one of a
// disabled account, is ErrBadLink, and changes nothing.
func (v *Verifications) ConfirmChange(ctx context.Context, secret, client string) (*trove.User, error) {
	hash := hashSecret(secret)
	var u *trove.User
	err := v.db.Tx(ctx, func(tx *meta.Tx) error {
		now := v.now().UTC()
		t, err := tx.MailTokenByHash(ctx, kindEmailChange, hash, now)
		if err != nil {
			return err
		}
		if err := tx.LockUser(ctx, t.UserID); err != nil {
			return err
		}
		if err := tx.UseMailToken(ctx, hash, now); err != nil {
			return err // used or replaced meanwhile
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if u.Disabled() {
			return meta.ErrNotFound
		}
		old := u.Email
		// Told before the switch: the notice goes to the old address.
		if err := v.note(ctx, tx, Event{Kind: EventEmailChanged, UserID: u.ID, Client: client, At: now,
			Detail: fmt.Sprintf("from %s to %s (the new address followed the link mailed to it)", old, t.Email)}); err != nil {
			return err
		}
		return v.switchEmail(ctx, tx, u, t.Email, now)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrInvalid, "%w", ErrBadLink)
	}
	if err != nil {
		return nil, fmt.Errorf("changing an email address: %w", err)
	}
	slog.Info("email address changed through a mailed link", "user", u.Name, "client", client)
	return u, nil
}

// switchEmail makes email u's address, verified at now, and ends any
// other pending change; u is updated.
func (v *Verifications) switchEmail(ctx context.Context, tx *meta.Tx, u *trove.User, email string, now time.Time) error {
	if err := tx.SetUserEmail(ctx, u.ID, email); err != nil {
		return err
	}
	if err := tx.PublicEmailChanged(ctx, u.ID, now); err != nil {
		return err
	}
	if err := tx.SetEmailVerified(ctx, u.ID, email, now); err != nil {
		return err
	}
	if _, err := tx.EndMailTokens(ctx, kindEmailChange, u.ID, now); err != nil {
		return err
	}
	u.Email = email
	return nil
}

// SetEmail is an operator's change of u's address. With verified, on
// their word, the address changes at once and is marked verified; the
// old address (if verified) is told, and by names the operator for the
// log and the event. Without it, the change is asked for as if u had
// (RequestChange): the new address must follow its link.
func (v *Verifications) SetEmail(ctx context.Context, u *trove.User, email string, verified bool, by string) error {
	if !verified {
		return v.RequestChange(ctx, u, email, by)
	}
	email, err := CheckEmail(strings.TrimSpace(email))
	if err != nil {
		return err
	}
	if email == u.Email {
		return fmt.Errorf("%w: %s is the address of %s already", ErrInvalid, email, u.Name)
	}
	old := u.Email
	now := v.now().UTC()
	err = v.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if err := v.note(ctx, tx, Event{Kind: EventEmailChanged, UserID: u.ID, Client: by, At: now,
			Detail: fmt.Sprintf("from %s to %s (set and vouched for by an administrator)", old, email)}); err != nil {
			return err
		}
		return v.switchEmail(ctx, tx, u, email, now)
	})
	if err != nil {
		return fmt.Errorf("setting the email address of %s: %w", u.Name, err)
	}
	slog.Warn("email address set by an operator", "user", u.Name, "from", mail.Redact(old), "to", mail.Redact(email), "by", by)
	return nil
}
