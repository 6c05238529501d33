package account

import (
	"context"
	"time"
)

// An EventKind names a security event on an account: what the owner is
// told about by email (OSSF-AUTHN-1.4) and sees in their account's event
// list, and what administrators see across accounts.
type EventKind string

// The security events.
const (
	EventPasswordChanged EventKind = "password-changed"
	EventEmailChanged    EventKind = "email-changed"
	// EventEmailChangeRequested: a change of address waits for the new
	// address to follow its link; the old address is told, so that its
	// owner can cancel a change they did not ask for.
	EventEmailChangeRequested EventKind = "email-change-requested"
	EventEmailVerified        EventKind = "email-verified"
	EventFactorAdded          EventKind = "factor-added"
	EventFactorRemoved        EventKind = "factor-removed"
	EventRecoveryCodeUsed     EventKind = "recovery-code-used"
	EventRecoveryCodesNew     EventKind = "recovery-codes-regenerated"
	EventTokenCreated         EventKind = "token-created"
	// EventTokenRevoked: API tokens were revoked (one, all of the user's,
	// those that could write a package, or every token of the registry);
	// the detail says which and by whom.
	EventTokenRevoked EventKind = "token-revoked"
	// EventTokenLeaked: a token was reported exposed (by a secret
	// scanner, or by someone holding its secret) and revoked; the detail
	// says where it was found.
	EventTokenLeaked      EventKind = "token-leaked"
	EventNewDevice        EventKind = "new-device-sign-in"
	EventLockout          EventKind = "lockout"
	EventPasswordReset    EventKind = "password-reset"
	EventAdminRecovery    EventKind = "admin-recovery"
	EventBreachedPassword EventKind = "breached-password"
	// EventPackageCritical: a package the user maintains became critical
	// (ranked by downloads or marked by an administrator); changing it now
	// needs a phishing-resistant sign-in (a security key or passkey).
	EventPackageCritical EventKind = "package-critical"
	// EventAccountDeleted: an administrator deleted the account. Its mail
	// is queued before the address is erased, in the same transaction.
	EventAccountDeleted EventKind = "account-deleted"
	// EventReleaseHeld: an upload the user published, or to a package
	// they maintain, was held for review (the worm guard, a scanner);
	// its mail is its own (notify_held.go).
	EventReleaseHeld EventKind = "release-held"
)

// EventKinds lists every kind, for the administrators' filter.
var EventKinds = []EventKind{EventPasswordChanged, EventEmailChanged, EventEmailVerified, EventFactorAdded,
	EventFactorRemoved, EventRecoveryCodeUsed, EventRecoveryCodesNew, EventTokenCreated, EventNewDevice,
	EventLockout, EventPasswordReset, EventAdminRecovery, EventBreachedPassword, EventPackageCritical,
	EventAccountDeleted, EventCloneWarning, EventReleaseHeld, EventTokenRevoked, EventTokenLeaked}

// An Event is one security event on a user's account.
type Event struct {
	Kind   EventKind
	UserID int64
	// Detail says what changed in words the owner understands, such as
	// `security key "desk"`. It never holds a secret.
	Detail string
	// Client is where the change came from: the client address and, for
	// browsers, the user agent.
	Client string
	At     time.Time
}

// A Notifier records security events and tells the account's owner.
type Notifier interface {
	// Notify records e and queues the email about it to every verified
	// address of the account. It returns once both are durable (the mail
	// is sent later, with retries); an error means neither happened.
	Notify(ctx context.Context, e Event) error
}
