package account

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// Shared sign-in budgets
//
// When replicas share the database (PostgreSQL), the budgets live in it
// (meta.SignInBudget): a sign-in locks its name's budget, then its
// address's, in one transaction, judges them as the in-memory throttle
// does, counts the failure and commits, all before the password is
// checked. Guesses sent to several replicas at once are counted against
// one budget, and an administrator's unlock deletes the name's budget for
// all of them at once. Every sign-in attempt is a write; the sign-in rate
// limit (rates.logins, shared too) bounds how many an address can make.

const (
	budgetName = "name"
	budgetAddr = "addr"
	// sweepBudgetsEvery is how many sign-ins, on average, one sweep of
	// ended windows follows.
	sweepBudgetsEvery = 64
	// sharedTimeout bounds the refund and success writes, which run after
	// the request's work.
	sharedTimeout = 5 * time.Second
)

// budgetOf converts a stored budget.
func budgetOf(b meta.SignInBudget) *budget {
	return &budget{since: b.Since, n: b.N, clean: b.Clean}
}

func storedBudget(b *budget) meta.SignInBudget {
	return meta.SignInBudget{Since: b.since, N: b.n, Clean: b.clean}
}

// reserveShared is reserve with the budgets in the database.
func (s *Users) reserveShared(ctx context.Context, name string, addr netip.Addr) (ticket, error) {
	now := s.now()
	start := now.Add(-FailureWindow)
	var tk ticket
	var refusal error
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		refusal = nil
		sn, err := tx.SignInBudget(ctx, budgetName, name, now, start)
		if err != nil {
			return err
		}
		sa, err := tx.SignInBudget(ctx, budgetAddr, addr.String(), now, start)
		if err != nil {
			return err
		}
		nb, a := budgetOf(sn), budgetOf(sa)
		v, clean := judge(a, nb)
		if v == nameSpent {
			at, err := tx.SignInUnlockedAt(ctx, name)
			if err != nil {
				return err
			}
			if at.After(nb.since) { // unlocked since the window began
				nb = &budget{since: now}
				v, clean = judge(a, nb)
			}
		}
		switch v {
		case addrSpent:
			refusal = addrRefusal(a.since, now)
			return nil
		case nameSpent:
			refusal = nameRefusal(name, nb.since, now)
			return nil
		}
		take(a, nb, clean)
		tk = ticket{name: name, addr: addr, clean: clean}
		if err := tx.PutSignInBudget(ctx, budgetName, name, storedBudget(nb)); err != nil {
			return err
		}
		return tx.PutSignInBudget(ctx, budgetAddr, addr.String(), storedBudget(a))
	})
	if err != nil {
		return ticket{}, err
	}
	if rand.IntN(sweepBudgetsEvery) == 0 {
		if err := s.db.SweepSignInBudgets(ctx, start); err != nil {
			slog.Warn("sweeping ended sign-in windows", "err", err)
		}
	}
	return tk, refusal
}

// refundShared gives back what the ticket took.
func (s *Users) refundShared(tk ticket) {
	s.updateShared(tk, func(nb, a *budget) {
		if tk.clean && nb.clean > 0 {
			nb.clean--
		} else if !tk.clean && nb.n > 0 {
			nb.n--
		}
		if a.n > 0 {
			a.n--
		}
	})
}

// succeededShared clears the name's counts and gives the address its
// failure back.
func (s *Users) succeededShared(tk ticket) {
	s.updateShared(tk, func(nb, a *budget) {
		*nb = budget{since: nb.since}
		if a.n > 0 {
			a.n--
		}
	})
}

// updateShared changes the ticket's budgets in one transaction, if their
// windows are still open.
func (s *Users) updateShared(tk ticket, change func(nb, a *budget)) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	now := s.now()
	start := now.Add(-FailureWindow)
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		sn, err := tx.SignInBudget(ctx, budgetName, tk.name, now, start)
		if err != nil {
			return err
		}
		sa, err := tx.SignInBudget(ctx, budgetAddr, tk.addr.String(), now, start)
		if err != nil {
			return err
		}
		nb, a := budgetOf(sn), budgetOf(sa)
		change(nb, a)
		if err := tx.PutSignInBudget(ctx, budgetName, tk.name, storedBudget(nb)); err != nil {
			return err
		}
		return tx.PutSignInBudget(ctx, budgetAddr, tk.addr.String(), storedBudget(a))
	})
	if err != nil {
		slog.Warn("updating the shared sign-in budgets", "user", tk.name, "err", err)
	}
}
