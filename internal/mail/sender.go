package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// batch is how many due messages one pass reads.
const batch = 50

// JobName is the name of the sender's registry job.
const JobName = "mail-sender"

// JobEvery is how often a replica looks for due mail.
const JobEvery = 5 * time.Second

// Deliver sends every message due now through s, recording each outcome,
// until none is due or ctx ends. It returns how many were sent.
func (o *Outbox) Deliver(ctx context.Context, s Sender) (int, error) {
	sent := 0
	for {
		due, err := o.db.DueMail(ctx, o.now(), batch)
		if err != nil {
			return sent, fmt.Errorf("reading the outbox: %w", err)
		}
		if len(due) == 0 {
			return sent, nil
		}
		for _, m := range due {
			if err := ctx.Err(); err != nil {
				return sent, err
			}
			ok, err := o.deliverOne(ctx, s, m)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
}

// deliverOne sends m and records the outcome; it reports whether m was sent.
func (o *Outbox) deliverOne(ctx context.Context, s Sender, m *meta.OutboxMail) (bool, error) {
	sendErr := s.Send(ctx, Message{To: m.Recipient, Subject: m.Subject, Body: m.Body, Kind: m.Kind})
	if sendErr != nil && ctx.Err() != nil {
		return false, ctx.Err() // stopping: not the message's fault
	}
	now := o.now().UTC()
	err := o.db.Tx(ctx, func(tx *meta.Tx) error {
		if sendErr == nil {
			return tx.MailSent(ctx, m.ID, now)
		}
		attempts := m.Attempts + 1
		if attempts >= MaxAttempts {
			return tx.MailFailed(ctx, m.ID, sendErr.Error(), now, true)
		}
		return tx.MailFailed(ctx, m.ID, sendErr.Error(), now.Add(Backoff(attempts)), false)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil // another sender recorded it first
	}
	if err != nil {
		return false, fmt.Errorf("recording a mail's delivery: %w", err)
	}
	if sendErr != nil {
		slog.Warn("sending mail failed", "id", m.ID, "kind", m.Kind, "to", Redact(m.Recipient), "attempt", m.Attempts+1, "err", sendErr)
		return false, nil
	}
	return true, nil
}

// Run is the sender job's work: one Deliver. A nil Sender (no mail
// server configured) leaves the messages queued.
func (o *Outbox) Run(s Sender) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if s == nil {
			return nil
		}
		n, err := o.Deliver(ctx, s)
		if n > 0 {
			slog.Debug("mail sent", "count", n)
		}
		return err
	}
}

// List returns up to limit messages of the status ("pending", "sent",
// "failed", or "" for all), newest first.
func (o *Outbox) List(ctx context.Context, status string, limit int) ([]*meta.OutboxMail, error) {
	return o.db.Outbox(ctx, status, limit)
}

// Retry makes message id due now with a fresh count of attempts. A sent
// or unknown message is meta.ErrNotFound.
func (o *Outbox) Retry(ctx context.Context, id int64) error {
	return o.db.Tx(ctx, func(tx *meta.Tx) error { return tx.RetryMail(ctx, id, o.now().UTC()) })
}
