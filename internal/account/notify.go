package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
)

// Notifications is the Notifier: it records each security event in the
// security_events table and, in the same transaction, queues a mail about
// it to the account's verified address (OSSF-AUTHN-1.4). An address not
// yet verified gets no mail: it may not be the owner's.
type Notifications struct {
	db     *meta.DB
	outbox *mail.Outbox
	base   string
	now    func() time.Time
}

// NewNotifications returns the notifier that queues its mail in outbox;
// baseURL is the server's public URL, for the links in the mail. now may
// be nil for time.Now.
func NewNotifications(db *meta.DB, outbox *mail.Outbox, baseURL string, now func() time.Time) *Notifications {
	if now == nil {
		now = time.Now
	}
	return &Notifications{db: db, outbox: outbox, base: strings.TrimRight(baseURL, "/"), now: now}
}

// Notify records e and queues its mail, in one transaction.
func (n *Notifications) Notify(ctx context.Context, e Event) error {
	return n.db.Tx(ctx, func(tx *meta.Tx) error { return n.NotifyTx(ctx, tx, e) })
}

// NotifyTx is Notify inside the caller's transaction, so that the event
// and its mail are durable with the change that caused them.
func (n *Notifications) NotifyTx(ctx context.Context, tx *meta.Tx, e Event) error {
	if e.At.IsZero() {
		e.At = n.now()
	}
	se := &meta.SecurityEvent{UserID: e.UserID, Kind: string(e.Kind), Detail: e.Detail, Client: e.Client, At: e.At.UTC()}
	if err := tx.InsertSecurityEvent(ctx, se); err != nil {
		return fmt.Errorf("recording security event: %w", err)
	}
	u, err := tx.UserByID(ctx, e.UserID)
	if err != nil {
		return fmt.Errorf("recording security event: %w", err)
	}
	verified, err := tx.EmailVerifiedAt(ctx, e.UserID)
	if err != nil || verified.IsZero() {
		return err
	}
	subject, body := n.eventMail(u.Name, e)
	return n.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: subject, Body: body, Kind: string(e.Kind)})
}

// List returns up to limit of the user's events, newest first (their
// account page).
func (n *Notifications) List(ctx context.Context, userID int64, limit int) ([]Event, error) {
	rows, err := n.db.SecurityEvents(ctx, userID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = Event{Kind: EventKind(r.Kind), UserID: r.UserID, Detail: r.Detail, Client: r.Client, At: r.At}
	}
	return out, nil
}

// Recent returns up to limit events of every account that pass the
// filter, newest first (the administrators' page).
func (n *Notifications) Recent(ctx context.Context, f meta.EventFilter, limit int) ([]*meta.SecurityEvent, error) {
	return n.db.RecentSecurityEvents(ctx, f, limit)
}

// eventSummaries say what happened, per kind, completing "On your Trove
// account NAME, ...".
var eventSummaries = map[EventKind]string{
	EventPasswordChanged: "the password was changed",
	EventEmailChanged:    "the email address was changed",
	EventEmailChangeRequested: "a change of the email address was asked for (it happens only once the new address follows the link mailed to it: " +
		"if this was not you, cancel it on your account page and change your password)",
	EventEmailVerified:    "the email address was verified",
	EventFactorAdded:      "a second factor was added",
	EventFactorRemoved:    "a second factor was removed",
	EventRecoveryCodeUsed: "a recovery code was used to sign in",
	EventRecoveryCodesNew: "new recovery codes were generated (the old ones no longer work)",
	EventTokenCreated:     "a new API token was created",
	EventTokenRevoked:     "API tokens were revoked",
	EventTokenLeaked:      "an API token was found exposed (in public, or in an upload to this registry) and revoked",
	EventNewDevice:        "someone signed in from a device or network not seen before",
	EventLockout:          "sign-ins are locked after many wrong passwords: someone may be guessing your password",
	EventPasswordReset:    "the password was reset",
	EventAdminRecovery:    "an administrator recovered access to the account",
	EventBreachedPassword: "the password was found in a list of breached passwords and must be changed",
	EventPackageCritical:  "a package you maintain became critical: changing it now needs a sign-in with a security key or passkey",
	EventAccountDeleted:   "an administrator deleted the account: its email address, password, second factors, tokens and sessions are erased, and its name cannot be registered again",
}

// eventMail returns the subject and body of the mail about e.
func (n *Notifications) eventMail(name string, e Event) (string, string) {
	summary := eventSummaries[e.Kind]
	if summary == "" {
		summary = "a security event happened (" + string(e.Kind) + ")"
	}
	subject := fmt.Sprintf("Trove security notice for %s: %s", name, firstClause(summary))
	var b strings.Builder
	fmt.Fprintf(&b, "On your Trove account %s, %s.\n\n", name, summary)
	if e.Detail != "" {
		fmt.Fprintf(&b, "What:  %s\n", e.Detail)
	}
	if e.Client != "" {
		fmt.Fprintf(&b, "From:  %s\n", e.Client)
	}
	fmt.Fprintf(&b, "When:  %s\n\n", e.At.UTC().Format(time.RFC1123))
	if e.Kind == EventTokenLeaked {
		fmt.Fprintf(&b, "Anyone who saw the token could have used it until now: it no longer works.\n"+
			"Remove it from where it was found (a file, a commit and its history, a log, a package),\n"+
			"create a new token and keep it in a secret store rather than in code. Check your\n"+
			"packages' recent releases and your account's events for anything you did not do:\n\n"+
			"    %s/-/account/security\n\n"+
			"If something was published that you did not publish, yank it and tell the registry's\n"+
			"administrators.\n", n.base)
		return subject, b.String()
	}
	fmt.Fprintf(&b, "If this was you, there is nothing to do.\n\n")
	fmt.Fprintf(&b, "If this was not you: revoke your tokens, sign out everywhere, change your password\n"+
		"or lock the account at\n\n    %s/-/account/security\n\nand tell the registry's administrators.\n", n.base)
	return subject, b.String()
}

// firstClause shortens a summary for a subject line.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ":("); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
