package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
)

// Hold notices
//
// An upload held for review (by the worm guard or a scanner's verdict:
// registry's burst.go) is a security event on the account of its
// publisher and of every owner of the package: each is recorded in
// security_events and mailed, in the transaction that records the hold,
// with why it is held and what to do (ask an administrator to release it,
// or revoke the tokens that could have published it). Unlike other
// events, a hold always needs someone to act, so its mail is its own.

// A Held is an upload held for review, as its notice says it.
type Held struct {
	Ecosystem, Package, Version string
	// Publisher is the user who uploaded it ("" if not known).
	Publisher string
	// Why is what the publisher was told.
	Why string
}

// HeldTx records a hold as a security event on the user's account and
// queues its mail to the user's verified address, within tx.
func (n *Notifications) HeldTx(ctx context.Context, tx *meta.Tx, userID int64, h Held) error {
	at := n.now().UTC()
	detail := fmt.Sprintf("%s %s %s was held for review", h.Ecosystem, h.Package, h.Version)
	if h.Publisher != "" {
		detail += ", uploaded by " + h.Publisher
	}
	se := &meta.SecurityEvent{UserID: userID, Kind: string(EventReleaseHeld), Detail: detail, At: at}
	if err := tx.InsertSecurityEvent(ctx, se); err != nil {
		return fmt.Errorf("recording security event: %w", err)
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("recording security event: %w", err)
	}
	verified, err := tx.EmailVerifiedAt(ctx, userID)
	if err != nil || verified.IsZero() {
		return err
	}
	subject := fmt.Sprintf("Trove: %s %s %s held for review", h.Ecosystem, h.Package, h.Version)
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nA new version of the %s package %s, which you maintain or published, was uploaded to Trove\n"+
		"and is held for review: it is not visible and cannot be installed.\n\n", u.Name, h.Ecosystem, h.Package)
	fmt.Fprintf(&b, "Version:  %s\n", h.Version)
	if h.Publisher != "" {
		fmt.Fprintf(&b, "Uploaded by:  %s\n", h.Publisher)
	}
	fmt.Fprintf(&b, "When:  %s\n\nWhy:\n  %s\n\n", at.Format(time.RFC1123), h.Why)
	fmt.Fprintf(&b, "What happens next: an administrator of this registry releases it (it then becomes\n"+
		"installable exactly as uploaded) or rejects it (it is discarded).\n\n"+
		"If you or your CI published it: tell the registry's administrators, who release it\n"+
		"(trove admin held release %s %s %s).\n\n"+
		"If nobody you know published it, a token was probably stolen: revoke your tokens and\n"+
		"sign out everywhere at\n\n    %s/-/account/security\n\n"+
		"and tell the registry's administrators, who reject it.\n", h.Ecosystem, h.Package, h.Version, n.base)
	return n.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: subject, Body: b.String(), Kind: string(EventReleaseHeld)})
}
