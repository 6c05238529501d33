package account

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Brute-force limits of second-factor codes (TOTP and recovery codes).
//
// A code is checked only after the password was, so these budgets are
// smaller than the password's: a user may fail MaxFactorFailures codes per
// FailureWindow, and a client address MaxFactorAddrFailures whatever users
// it tries. Every check takes one failure from both budgets before the
// code is compared, in one transaction that locks the user's budget row
// (signin_budgets, kinds "mfa-user" and "mfa-addr"), and a right code
// gives it back: however many guesses arrive at once, on however many
// replicas, no more are checked than the budgets hold. The failure that
// spends a user's budget is an EventLockout; the lock lasts until the
// window ends or an administrator runs trove admin user unlock NAME.
//
// The budgets live in the database on every engine (on SQLite too): codes
// are checked rarely, after a right password, so the write costs little.
const (
	MaxFactorFailures     = 5
	MaxFactorAddrFailures = 20
)

const (
	budgetMFAUser = "mfa-user"
	budgetMFAAddr = "mfa-addr"
)

// A codeTicket is one code check's reservation.
type codeTicket struct {
	user, addr string
	// last: this check took the user's last failure; if it fails, the
	// user is locked out.
	last bool
}

// reserveCode takes one failure from the budgets of the user and the
// address, or says why it cannot.
func (f *Factors) reserveCode(ctx context.Context, userID int64, from netip.Addr) (codeTicket, error) {
	now := f.now()
	start := now.Add(-FailureWindow)
	tk := codeTicket{user: strconv.FormatInt(userID, 10), addr: limit.Key(from).String()}
	var refusal error
	err := f.db.Tx(ctx, func(tx *meta.Tx) error {
		refusal = nil
		ub, err := tx.SignInBudget(ctx, budgetMFAUser, tk.user, now, start)
		if err != nil {
			return err
		}
		ab, err := tx.SignInBudget(ctx, budgetMFAAddr, tk.addr, now, start)
		if err != nil {
			return err
		}
		switch {
		case ub.N >= MaxFactorFailures:
			wait := ub.Since.Add(FailureWindow).Sub(now)
			refusal = trove.Retry(wait, ErrThrottled, "too many wrong codes for this account: try again in %s, or ask an administrator to unlock it", wait.Round(time.Second))
			return nil
		case ab.N >= MaxFactorAddrFailures:
			wait := ab.Since.Add(FailureWindow).Sub(now)
			refusal = trove.Retry(wait, ErrThrottled, "too many wrong codes from your address: try again in %s", wait.Round(time.Second))
			return nil
		}
		ub.N++
		ab.N++
		tk.last = ub.N == MaxFactorFailures
		if err := tx.PutSignInBudget(ctx, budgetMFAUser, tk.user, ub); err != nil {
			return err
		}
		return tx.PutSignInBudget(ctx, budgetMFAAddr, tk.addr, ab)
	})
	if err != nil {
		return codeTicket{}, err
	}
	if refusal != nil {
		return codeTicket{}, refusal
	}
	if rand.IntN(sweepBudgetsEvery) == 0 {
		if err := f.db.SweepSignInBudgets(ctx, start); err != nil {
			slog.Warn("sweeping sign-in budgets", "err", err)
		}
	}
	return tk, nil
}

// refundCode gives back what the ticket took: the code was right, or was
// not checked after all.
func (f *Factors) refundCode(tk codeTicket) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	now := f.now()
	start := now.Add(-FailureWindow)
	err := f.db.Tx(ctx, func(tx *meta.Tx) error {
		for _, b := range []struct{ kind, name string }{{budgetMFAUser, tk.user}, {budgetMFAAddr, tk.addr}} {
			sb, err := tx.SignInBudget(ctx, b.kind, b.name, now, start)
			if err != nil {
				return err
			}
			sb.N = max(sb.N-1, 0)
			if err := tx.PutSignInBudget(ctx, b.kind, b.name, sb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		slog.Warn("giving back a second-factor attempt", "user_id", tk.user, "err", err)
	}
}

// failedCode logs a wrong code, and tells the owner when it locked them out.
func (f *Factors) failedCode(ctx context.Context, userID int64, tk codeTicket, from netip.Addr) {
	slog.Warn("wrong second-factor code", "user_id", userID, "client", from.String())
	if tk.last {
		f.event(ctx, EventLockout, userID, from.String(),
			"%d wrong codes in a row: second-factor sign-in is locked for %s. If this was not you, someone knows your password: change it", MaxFactorFailures, FailureWindow)
	}
}

// Unlock lets the user try codes again at once, on every server
// (Users.Unlock, which administrators use, does it too).
func (f *Factors) Unlock(ctx context.Context, userID int64) error {
	return f.db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.DeleteSignInBudget(ctx, budgetMFAUser, strconv.FormatInt(userID, 10))
	})
}
