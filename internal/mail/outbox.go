// Package mail sends Trove's email through a durable outbox.
//
// Every message is first a row of the outbox table, written with
// [Outbox.Enqueue] inside the transaction of the change that causes it (a
// security event, a release, a sign-up), so the message exists if and
// only if the change does. The sender, [Outbox.Job], runs as a leased
// registry job (one replica at a time) and sends the due messages over
// SMTP ([SMTP], go-mail), retrying failures with exponential backoff up
// to a cap and giving up after [MaxAttempts]; given-up messages stay in
// the table for operators (trove admin mail list|retry).
//
// # Delivery guarantee
//
// At least once: a message is marked sent in the database only after the
// SMTP server accepted it, so a sender that dies between the two sends it
// again on its next run (the only case of a duplicate). A message the
// server refused or that was never accepted is retried; none is lost
// across restarts.
//
// # Limits
//
// At most [Outbox.PerHour] messages of one kind go to one recipient per
// hour (10 by default): sign-ups, "resend verification" and lockouts are
// triggered by strangers and must not flood a victim's inbox. Messages
// over the limit are dropped and logged (with the address redacted).
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// Retry policy of the sender.
const (
	// MaxAttempts is how many times the sender tries a message before it
	// gives up on it.
	MaxAttempts = 10
	// FirstBackoff is the wait after the first failure; each further
	// failure doubles it, up to MaxBackoff.
	FirstBackoff = 30 * time.Second
	MaxBackoff   = time.Hour
	// DefaultPerHour is the default limit of messages of one kind to one
	// recipient per hour.
	DefaultPerHour = 10
)

// A Message is a plain-text email to one recipient.
type Message struct {
	To      string
	Subject string
	Body    string
	// Kind names what the message is about ("verify-email", "invite",
	// "release", or a security event's kind); the per-recipient limit
	// counts per kind.
	Kind string
}

// A Sender delivers one message. An error means the message may not have
// been accepted and will be retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox queues and sends mail.
type Outbox struct {
	db  *meta.DB
	now func() time.Time
	// PerHour bounds the messages of one kind to one recipient per hour.
	PerHour int
}

// NewOutbox returns the outbox over db. now may be nil for time.Now.
func NewOutbox(db *meta.DB, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{db: db, now: now, PerHour: DefaultPerHour}
}

// ErrInvalid reports a message that cannot be sent (no recipient, a
// header with a line break).
var ErrInvalid = errors.New("invalid mail message")

func (m Message) check() error {
	if m.To == "" || m.Subject == "" || m.Kind == "" {
		return fmt.Errorf("%w: recipient, subject and kind are required", ErrInvalid)
	}
	if strings.ContainsAny(m.To+m.Subject+m.Kind, "\r\n") {
		return fmt.Errorf("%w: a header holds a line break", ErrInvalid)
	}
	return nil
}

// Enqueue adds m to the outbox in tx, so that it is durable with the
// change tx makes; with a nil tx it runs its own transaction. A message
// over the recipient's hourly limit is dropped, logged, and not an error.
func (o *Outbox) Enqueue(ctx context.Context, tx *meta.Tx, m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	if tx == nil {
		return o.db.Tx(ctx, func(tx *meta.Tx) error { return o.Enqueue(ctx, tx, m) })
	}
	row := &meta.OutboxMail{Recipient: m.To, Subject: m.Subject, Body: m.Body, Kind: m.Kind, CreatedAt: o.now().UTC()}
	ok, err := tx.EnqueueMail(ctx, row, o.PerHour)
	if err != nil {
		return fmt.Errorf("queueing mail: %w", err)
	}
	if !ok {
		slog.Warn("mail dropped: the recipient's hourly limit for this kind is spent", "kind", m.Kind, "to", Redact(m.To), "limit", o.PerHour)
	}
	return nil
}

// Redact shows an address as its first character and domain: a…@example.com.
func Redact(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "…"
	}
	r := []rune(local)
	return string(r[0]) + "…@" + domain
}

// Backoff returns the wait after a message's attempts-th failure.
func Backoff(attempts int) time.Duration {
	d := FirstBackoff
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}
