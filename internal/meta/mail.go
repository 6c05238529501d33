package meta

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Mail outbox
//
// Every message is a row of the outbox before it is sent: EnqueueMail
// runs inside the transaction of the change that causes the message, so
// the two are durable together. The sender (internal/mail) reads the due
// rows, sends each and records the outcome; a message whose sending was
// interrupted after the SMTP server accepted it but before MarkMailSent
// committed is sent again (at-least-once).

// An OutboxMail is one message of the outbox.
type OutboxMail struct {
	ID            int64
	Recipient     string
	Subject       string
	Body          string // cleared once sent
	Kind          string
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	SentAt        time.Time // zero until sent
	GaveUpAt      time.Time // zero unless the sender gave up
	LastError     string
}

// Status is "sent", "failed" (the sender gave up) or "pending".
func (m *OutboxMail) Status() string {
	switch {
	case !m.SentAt.IsZero():
		return "sent"
	case !m.GaveUpAt.IsZero():
		return "failed"
	}
	return "pending"
}

const outboxCols = `id, recipient, subject, body, kind, created_at, attempts, next_attempt_at, sent_at, gave_up_at, last_error`

func scanOutbox(s interface{ Scan(...any) error }) (*OutboxMail, error) {
	var m OutboxMail
	var created, next int64
	var sent, gave sql.NullInt64
	if err := s.Scan(&m.ID, &m.Recipient, &m.Subject, &m.Body, &m.Kind, &created, &m.Attempts, &next, &sent, &gave, &m.LastError); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt = time.UnixMicro(created).UTC(), time.UnixMicro(next).UTC()
	m.SentAt, m.GaveUpAt = timeOf(sent), timeOf(gave)
	return &m, nil
}

// EnqueueMail adds m to the outbox, due at once, unless its recipient
// already has perHour messages of m's kind queued in the hour before
// m.CreatedAt; it
// reports whether m was added and sets m.ID.
func (tx *Tx) EnqueueMail(ctx context.Context, m *OutboxMail, perHour int) (bool, error) {
	var n int
	err := tx.row(ctx, `SELECT COUNT(*) FROM outbox WHERE recipient = ? AND kind = ? AND created_at > ?`,
		m.Recipient, m.Kind, m.CreatedAt.Add(-time.Hour).UnixMicro()).Scan(&n)
	if err != nil {
		return false, tx.err(err)
	}
	if n >= perHour {
		return false, nil
	}
	m.ID, err = tx.insert(ctx, `INSERT INTO outbox (recipient, subject, body, kind, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.Recipient, m.Subject, m.Body, m.Kind, m.CreatedAt.UnixMicro(), m.CreatedAt.UnixMicro())
	return err == nil, err
}

// DueMail returns up to limit unsent messages due at now, oldest first.
func (q q) DueMail(ctx context.Context, now time.Time, limit int) ([]*OutboxMail, error) {
	rows, err := q.query(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, now.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOutbox)
}

// Outbox returns up to limit messages of the status ("pending", "sent",
// "failed", or "" for all), newest first.
func (q q) Outbox(ctx context.Context, status string, limit int) ([]*OutboxMail, error) {
	where := map[string]string{
		"":        "1 = 1",
		"pending": "sent_at IS NULL AND gave_up_at IS NULL",
		"sent":    "sent_at IS NOT NULL",
		"failed":  "gave_up_at IS NOT NULL",
	}[status]
	if where == "" {
		return nil, errors.New("outbox status must be pending, sent or failed")
	}
	rows, err := q.query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE `+where+` ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOutbox)
}

// MailSent records that the SMTP server accepted message id at and
// clears its body. A message already sent is ErrNotFound.
func (tx *Tx) MailSent(ctx context.Context, id int64, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE outbox SET sent_at = ?, body = '', attempts = attempts + 1, last_error = ''
		WHERE id = ? AND sent_at IS NULL`, at.UnixMicro(), id))
}

// MailFailed records a failed attempt at message id: its error (no
// secrets), and either the time of the next attempt or, if gaveUp is set,
// that the sender gave up at that time.
func (tx *Tx) MailFailed(ctx context.Context, id int64, lastErr string, next time.Time, gaveUp bool) error {
	q := `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND sent_at IS NULL`
	if gaveUp {
		q = `UPDATE outbox SET attempts = attempts + 1, last_error = ?, gave_up_at = ? WHERE id = ? AND sent_at IS NULL`
	}
	return affected(tx.exec(ctx, q, lastErr, next.UnixMicro(), id))
}

// RetryMail makes a message the sender gave up on (or one still pending)
// due at now with a fresh count of attempts. A sent or unknown message is
// ErrNotFound.
func (tx *Tx) RetryMail(ctx context.Context, id int64, now time.Time) error {
	return affected(tx.exec(ctx, `UPDATE outbox SET attempts = 0, gave_up_at = NULL, next_attempt_at = ?
		WHERE id = ? AND sent_at IS NULL`, now.UnixMicro(), id))
}
