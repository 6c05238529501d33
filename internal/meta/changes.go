package meta

import (
	"context"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A Change is one entry of the change feed.
type Change struct {
	Serial    int64
	Ecosystem string
	Name      string
	Kind      string
	At        time.Time
}

// AddChange appends a change of the package to the feed, makes it the
// package's last serial, and returns its serial. It takes the sequencer
// lock (see lock.go), so the caller must hold the package's row lock
// already if it takes one.
func (tx *Tx) AddChange(ctx context.Context, p *trove.Package, kind string, at time.Time) (int64, error) {
	if err := tx.sequence(ctx); err != nil {
		return 0, err
	}
	serial, err := tx.insert(ctx, `INSERT INTO changes (ecosystem, name, kind, at) VALUES (?, ?, ?, ?)`,
		p.Ecosystem, p.Name, kind, at.UnixMicro())
	if err != nil {
		return 0, err
	}
	if err := affected(tx.exec(ctx, `UPDATE packages SET last_serial = ? WHERE id = ?`, serial, p.ID)); err != nil {
		return 0, err
	}
	p.LastSerial = serial
	return serial, nil
}

// ChangesSince returns up to limit changes with a serial above after, in order.
func (q q) ChangesSince(ctx context.Context, after int64, limit int) ([]Change, error) {
	rows, err := q.query(ctx, `SELECT id, ecosystem, name, kind, at FROM changes WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (Change, error) {
		var c Change
		var at int64
		err := s.Scan(&c.Serial, &c.Ecosystem, &c.Name, &c.Kind, &at)
		c.At = time.UnixMicro(at).UTC()
		return c, err
	})
}

// LastSerial returns the serial of the newest change, or 0.
func (q q) LastSerial(ctx context.Context) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM changes`).Scan(&n)
	return n, q.err(err)
}

// AddFeedEntry appends to the feed a change that is about no package row
// (a curation decision about a name or a pattern of names), so that
// every replica's watchers hear of it, and returns its serial.
func (tx *Tx) AddFeedEntry(ctx context.Context, eco trove.Ecosystem, name, kind string, at time.Time) (int64, error) {
	if err := tx.sequence(ctx); err != nil {
		return 0, err
	}
	return tx.insert(ctx, `INSERT INTO changes (ecosystem, name, kind, at) VALUES (?, ?, ?, ?)`, eco, name, kind, at.UnixMicro())
}
