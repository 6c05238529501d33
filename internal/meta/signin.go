package meta

import (
	"context"
	"time"
)

// A SignInBudget is the failed sign-ins of a user name or a client
// address counted in the window that began at Since (internal/account
// keeps them here when replicas share the database).
type SignInBudget struct {
	Since    time.Time
	N, Clean int
}

// SignInBudget returns the budget of (kind, name), locked until the
// transaction ends, or a new one beginning at now if it has none or its
// window began at or before windowStart (it has ended). Callers lock budgets in one order
// (names before addresses) so that they cannot deadlock.
func (tx *Tx) SignInBudget(ctx context.Context, kind, name string, now, windowStart time.Time) (SignInBudget, error) {
	// A row to lock, even for a budget not counted yet: concurrent first
	// sign-ins then wait for each other instead of both inserting.
	if _, err := tx.exec(ctx, `INSERT INTO signin_budgets (kind, name, since) VALUES (?, ?, ?) ON CONFLICT (kind, name) DO NOTHING`,
		kind, name, now.UnixMicro()); err != nil {
		return SignInBudget{}, err
	}
	var since int64
	var b SignInBudget
	err := tx.row(ctx, `SELECT since, n, clean FROM signin_budgets WHERE kind = ? AND name = ?`+tx.d.forUpdate, kind, name).
		Scan(&since, &b.N, &b.Clean)
	if err != nil {
		return SignInBudget{}, tx.err(err)
	}
	b.Since = time.UnixMicro(since)
	if !b.Since.After(windowStart) {
		return SignInBudget{Since: now}, nil
	}
	return b, nil
}

// PutSignInBudget stores the budget of (kind, name); a budget with
// nothing counted is deleted.
func (tx *Tx) PutSignInBudget(ctx context.Context, kind, name string, b SignInBudget) error {
	if b.N == 0 && b.Clean == 0 {
		return tx.DeleteSignInBudget(ctx, kind, name)
	}
	_, err := tx.exec(ctx, `INSERT INTO signin_budgets (kind, name, since, n, clean) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, name) DO UPDATE SET since = excluded.since, n = excluded.n, clean = excluded.clean`,
		kind, name, b.Since.UnixMicro(), b.N, b.Clean)
	return tx.err(err)
}

// DeleteSignInBudget forgets the budget of (kind, name).
func (tx *Tx) DeleteSignInBudget(ctx context.Context, kind, name string) error {
	_, err := tx.exec(ctx, `DELETE FROM signin_budgets WHERE kind = ? AND name = ?`, kind, name)
	return tx.err(err)
}

// SweepSignInBudgets deletes budgets whose window began at or before
// windowStart: they count nothing any more.
func (db *DB) SweepSignInBudgets(ctx context.Context, windowStart time.Time) error {
	_, err := db.w.ExecContext(ctx, db.rebind(`DELETE FROM signin_budgets WHERE since <= ?`), windowStart.UnixMicro())
	return db.q.err(err)
}
