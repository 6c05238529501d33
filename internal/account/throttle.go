package account

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Brute-force limits of SignIn: in the database when replicas share it
// (one budget for all of them), in this process's memory on SQLite.
//
// Every sign-in takes one failure from the budgets of its user name and of
// its client address before the password is checked, under one lock, and
// gives it back only if the password was right: however many guesses
// arrive at once, no more are checked than the budgets hold.
//
//   - A client address may fail MaxAddrFailures times per FailureWindow,
//     whatever names it tries (password spraying).
//   - A user name may fail MaxFailures times per FailureWindow. After that
//     it is not locked for everyone: an address that has not failed in the
//     window may still try, from a second budget of MaxCleanFailures, so
//     the owner signing in from their usual place gets in while the
//     guesses came from elsewhere. Only when that budget is spent too
//     (guesses from many fresh addresses) is the name locked, until the
//     window ends or an administrator runs trove admin user unlock NAME.
//
// Known and unknown names are counted alike, and a success clears the
// name's counts.
const (
	MaxFailures      = 10
	MaxCleanFailures = 10
	MaxAddrFailures  = 30
	FailureWindow    = 15 * time.Minute
	// maxTracked bounds the names and addresses whose failures are
	// counted; beyond it, failures of new ones are not counted until old
	// windows expire.
	maxTracked = 100_000
	// unlockCheck is how often a locked name's unlock record is read
	// from the database: an administrator's unlock takes effect within it.
	unlockCheck = 5 * time.Second
)

// budget counts the failures of a name or an address in one window.
type budget struct {
	since   time.Time
	n       int // failures (names: from any address, the first MaxFailures)
	clean   int // names: failures from addresses with none before, after n ran out
	checked time.Time
}

// throttle holds the budgets.
type throttle struct {
	mu    sync.Mutex
	names map[string]*budget
	addrs map[netip.Addr]*budget
	// lockNotified holds, per name, the start of the last lockout window
	// whose owner was told (devices.go).
	lockNotified map[string]time.Time
}

func newThrottle() *throttle {
	return &throttle{names: make(map[string]*budget), addrs: make(map[netip.Addr]*budget)}
}

// A ticket is one sign-in's reservation in the budgets.
type ticket struct {
	name  string
	addr  netip.Addr
	clean bool // taken from the name's second budget
	none  bool // nothing was taken: the maps were full
}

// current returns m[k] if its window is still open, dropping it otherwise.
func current[K comparable](m map[K]*budget, k K, now time.Time) *budget {
	b := m[k]
	if b != nil && now.Sub(b.since) >= FailureWindow {
		delete(m, k)
		return nil
	}
	return b
}

// ensure returns m[k], starting a window if there is none, or nil if the
// map is full of open windows.
func ensure[K comparable](m map[K]*budget, k K, now time.Time) *budget {
	if b := current(m, k, now); b != nil {
		return b
	}
	if len(m) >= maxTracked {
		for k2, b := range m {
			if now.Sub(b.since) >= FailureWindow {
				delete(m, k2)
			}
		}
		if len(m) >= maxTracked {
			return nil
		}
	}
	b := &budget{since: now}
	m[k] = b
	return b
}

// A verdict is what the budgets say of one more sign-in.
type verdict int

const (
	allowed   verdict = iota
	addrSpent         // the address failed too often
	nameSpent         // the name failed too often (an unlock lifts it)
)

// judge says whether a sign-in from an address with budget a may try a
// name with budget nb (nil: nothing counted), and whether its failure
// would come from the name's second budget (clean).
func judge(a, nb *budget) (v verdict, clean bool) {
	if a != nil && a.n >= MaxAddrFailures {
		return addrSpent, false
	}
	dirty := a != nil && a.n > 0
	switch {
	case nb == nil || nb.n < MaxFailures:
		return allowed, false
	case !dirty && nb.clean < MaxCleanFailures:
		return allowed, true
	}
	return nameSpent, false
}

// take counts one failure in the budgets, as judge decided.
func take(a, nb *budget, clean bool) {
	a.n++
	if clean {
		nb.clean++
	} else {
		nb.n++
	}
}

// addrRefusal and nameRefusal are the errors of spent budgets.
func addrRefusal(since, now time.Time) error {
	wait := since.Add(FailureWindow).Sub(now)
	return trove.Retry(wait, ErrThrottled, "too many failed sign-ins from your address: try again in %s", wait.Round(time.Second))
}

func nameRefusal(name string, since, now time.Time) error {
	wait := since.Add(FailureWindow).Sub(now)
	return &nameLocked{since: since, err: trove.Retry(wait, ErrThrottled, "too many failed sign-ins for %s: try again in %s, or ask an administrator to unlock it", name, wait.Round(time.Second))}
}

// nameLocked is the refusal of a locked name: its window began at since.
type nameLocked struct {
	since time.Time
	err   error
}

func (e *nameLocked) Error() string { return e.err.Error() }
func (e *nameLocked) Unwrap() error { return e.err }

// reserve takes one failure from the budgets of name and addr, or says why
// it cannot: in the database when replicas share it (throttle_shared.go),
// in this process's memory otherwise.
func (s *Users) reserve(ctx context.Context, name string, addr netip.Addr) (ticket, error) {
	if s.db.Shared() {
		return s.reserveShared(ctx, name, limit.Key(addr))
	}
	return s.reserveLocal(ctx, name, limit.Key(addr))
}

// reserveLocal reserves in memory. unlocked reads when the name was last
// unlocked; it is called only for a name whose budgets are spent, at most
// every unlockCheck.
func (s *Users) reserveLocal(ctx context.Context, name string, addr netip.Addr) (ticket, error) {
	t := s.throttle
	now := s.now()
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		a := current(t.addrs, addr, now)
		nb := current(t.names, name, now)
		v, clean := judge(a, nb)
		switch v {
		case addrSpent:
			t.mu.Unlock()
			return ticket{}, addrRefusal(a.since, now)
		case nameSpent:
			// Unless an administrator unlocked it since, refuse.
			check := attempt == 0 && now.Sub(nb.checked) >= unlockCheck
			since := nb.since
			if check {
				nb.checked = now
			}
			t.mu.Unlock()
			if check {
				at, err := s.db.SignInUnlockedAt(ctx, name)
				if err != nil {
					return ticket{}, err
				}
				if at.After(since) {
					t.mu.Lock()
					if b := t.names[name]; b != nil && !at.Before(b.since) {
						delete(t.names, name)
					}
					t.mu.Unlock()
					continue
				}
			}
			return ticket{}, nameRefusal(name, since, now)
		}
		tk := ticket{name: name, addr: addr, clean: clean}
		nb = ensure(t.names, name, now)
		if a == nil {
			a = ensure(t.addrs, addr, now)
		}
		if nb == nil || a == nil {
			tk.none, tk.clean = true, false
		} else {
			take(a, nb, clean)
		}
		t.mu.Unlock()
		return tk, nil
	}
}

// refund gives back what the ticket took: the sign-in did not check a
// password after all.
func (s *Users) refund(tk ticket) {
	if tk.none {
		return
	}
	if s.db.Shared() {
		s.refundShared(tk)
		return
	}
	t := s.throttle
	now := s.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if nb := current(t.names, tk.name, now); nb != nil {
		if tk.clean && nb.clean > 0 {
			nb.clean--
		} else if !tk.clean && nb.n > 0 {
			nb.n--
		}
	}
	if a := current(t.addrs, tk.addr, now); a != nil && a.n > 0 {
		a.n--
	}
}

// succeeded clears the name's counts and gives the address its failure back.
func (s *Users) succeeded(tk ticket) {
	if s.db.Shared() {
		s.succeededShared(tk)
		return
	}
	t := s.throttle
	now := s.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.names, tk.name)
	if a := current(t.addrs, tk.addr, now); !tk.none && a != nil && a.n > 0 {
		a.n--
	}
}

// failed logs a failed sign-in; the ticket already counted it.
func (s *Users) failed(tk ticket, known bool) {
	slog.Warn("sign-in failed", "user", tk.name, "client", tk.addr.String(), "known_user", known)
}

// Unlock lets a user name whose sign-ins (and second-factor codes) are
// throttled try again at once,
// on this server now and on every server sharing the database within a few
// seconds. It does not lift the limits of the addresses the guesses came
// from.
func (s *Users) Unlock(ctx context.Context, name string) error {
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.UnlockSignIn(ctx, name, s.now()); err != nil {
			return err
		}
		if u, err := tx.UserByName(ctx, name); err == nil { // and its second-factor budget (factors_throttle.go)
			if err := tx.DeleteSignInBudget(ctx, budgetMFAUser, strconv.FormatInt(u.ID, 10)); err != nil {
				return err
			}
		}
		return tx.DeleteSignInBudget(ctx, budgetName, name)
	})
	if err != nil {
		return err
	}
	s.throttle.mu.Lock()
	delete(s.throttle.names, name)
	s.throttle.mu.Unlock()
	return nil
}
