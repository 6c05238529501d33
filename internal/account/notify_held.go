package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
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
	// Rejected says it was not held but rejected and discarded, after its
	// publisher was told it was held until the scanners finished.
	Rejected bool
}

// HeldTx records a hold as a security event on the user's account and
// queues its mail to the user's verified address, within tx.
func (n *Notifications) HeldTx(ctx context.Context, tx *meta.Tx, userID int64, h Held) error {
	if h.Rejected {
		return n.rejectedTx(ctx, tx, userID, h)
	}
	detail := fmt.Sprintf("%s %s %s was held for review", h.Ecosystem, h.Package, h.Version)
	if h.Publisher != "" {
		detail += ", uploaded by " + h.Publisher
	}
	u, at, err := n.heldEvent(ctx, tx, userID, detail)
	if err != nil || u == nil {
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

// heldEvent records a release-held security event on the user's account
// and returns the user to mail, nil without a verified address.
func (n *Notifications) heldEvent(ctx context.Context, tx *meta.Tx, userID int64, detail string) (*trove.User, time.Time, error) {
	at := n.now().UTC()
	se := &meta.SecurityEvent{UserID: userID, Kind: string(EventReleaseHeld), Detail: detail, At: at}
	if err := tx.InsertSecurityEvent(ctx, se); err != nil {
		return nil, at, fmt.Errorf("recording security event: %w", err)
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return nil, at, fmt.Errorf("recording security event: %w", err)
	}
	verified, err := tx.EmailVerifiedAt(ctx, userID)
	if err != nil || verified.IsZero() {
		return nil, at, err
	}
	return u, at, nil
}

// rejectedTx records and mails that an upload held until the scanners
// finished was rejected by them.
func (n *Notifications) rejectedTx(ctx context.Context, tx *meta.Tx, userID int64, h Held) error {
	u, at, err := n.heldEvent(ctx, tx, userID, fmt.Sprintf("%s %s %s was rejected by the scanners", h.Ecosystem, h.Package, h.Version))
	if err != nil || u == nil {
		return err
	}
	subject := fmt.Sprintf("Trove: %s %s %s rejected by the upload checks", h.Ecosystem, h.Package, h.Version)
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nA new version of the %s package %s, which you maintain or published, was uploaded to Trove\n"+
		"and held until the registry's scanners finished checking it. They rejected it: it was discarded\n"+
		"and was never visible.\n\n", u.Name, h.Ecosystem, h.Package)
	fmt.Fprintf(&b, "Version:  %s\n", h.Version)
	if h.Publisher != "" {
		fmt.Fprintf(&b, "Uploaded by:  %s\n", h.Publisher)
	}
	fmt.Fprintf(&b, "When:  %s\n\nWhy:\n  %s\n\n", at.Format(time.RFC1123), h.Why)
	fmt.Fprintf(&b, "If you published it: fix what the scanners found and upload it again (the version is free).\n"+
		"If nobody you know published it, a token was probably stolen: revoke your tokens and\n"+
		"sign out everywhere at\n\n    %s/-/account/security\n", n.base)
	return n.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: subject, Body: b.String(), Kind: string(EventReleaseHeld)})
}

// HeldAdminsTx tells the registry's administrators, within tx, that an
// upload is held and waits for their decision: one mail each (to
// verified addresses), except to those in told, who got HeldTx's notice
// as its publisher or owners.
func (n *Notifications) HeldAdminsTx(ctx context.Context, tx *meta.Tx, h Held, told []int64) error {
	admins, err := tx.Admins(ctx)
	if err != nil {
		return err
	}
	for _, u := range admins {
		if slices.Contains(told, u.ID) {
			continue
		}
		verified, err := tx.EmailVerifiedAt(ctx, u.ID)
		if err != nil {
			return err
		}
		if verified.IsZero() {
			continue
		}
		subject := fmt.Sprintf("Trove: %s %s %s held for your review", h.Ecosystem, h.Package, h.Version)
		var b strings.Builder
		fmt.Fprintf(&b, "Hello %s,\n\nAn upload to Trove is held for review and waits for an administrator's decision.\n\n", u.Name)
		fmt.Fprintf(&b, "Package:  %s %s\nVersion:  %s\n", h.Ecosystem, h.Package, h.Version)
		if h.Publisher != "" {
			fmt.Fprintf(&b, "Uploaded by:  %s\n", h.Publisher)
		}
		fmt.Fprintf(&b, "\nWhy:\n  %s\n\n", h.Why)
		fmt.Fprintf(&b, "Its publisher and owners were told. Ask them whether they published it, then:\n\n"+
			"    trove admin held list\n    trove admin held release %[1]s %[2]s %[3]s\n    trove admin held reject %[1]s %[2]s %[3]s\n\n"+
			"If nobody published it, a token was probably stolen: reject it, and revoke the\n"+
			"credential's tokens (trove token revoke --package %[1]s:%[2]s).\n", h.Ecosystem, h.Package, h.Version)
		if err := n.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: subject, Body: b.String(), Kind: string(EventReleaseHeld)}); err != nil {
			return err
		}
	}
	return nil
}
