// Package account manages user accounts: names, email addresses and
// passwords (argon2id). Later: sessions, MFA, recovery.
//
// # Invariants
//
//   - An email address is private: public metadata names users only,
//     unless a user opts in (PublicEmail).
//   - Passwords are stored only as argon2id hashes with a random salt.
//   - Signing in with an unknown name costs the same hash as with a known
//     one, and fails with the same error, so timing and answers do not tell
//     which names exist.
//   - Password guessing is bounded per user name and per client address,
//     and counted before any password is checked (see [MaxFailures]):
//     known and unknown names alike.
//   - Password hashing takes about 19 MiB for its duration, so at most a
//     fixed number of hashes run at once ([HashSlots]); a sign-in that
//     finds none free within a short wait is refused as busy (503 with
//     Retry-After), which bounds the memory a flood of sign-ins can take.
package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Errors callers branch on.
var (
	// ErrBadCredentials reports a wrong name or password, without saying which.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrInvalid reports an unacceptable name, email or password.
	ErrInvalid = errors.New("invalid account data")
	// ErrExists reports that the user name is taken.
	ErrExists = errors.New("user name is taken")
	// ErrThrottled reports too many failed sign-ins for a user name or
	// from a client address.
	ErrThrottled = errors.New("too many failed sign-ins")
)

// Password hashing limits: each hash holds argonMemoryKiB of memory while
// it runs, so the memory hashing may take bounds how many run at once.
const (
	// DefaultHashWait is how long a sign-in waits for a hashing slot.
	DefaultHashWait = 2 * time.Second
	// HashMemory is what one hash takes.
	HashMemory = argonMemoryKiB << 10
)

// HashSlots returns how many hashes fit in a memory budget (at least
// one). A budget of 0 gives one slot per CPU: a hash keeps a CPU busy for
// its whole duration, so more would add memory and waiting, not speed.
func HashSlots(budget int64) int {
	if budget == 0 {
		return runtime.NumCPU()
	}
	return max(int(budget/HashMemory), 1)
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,38}$`)

// CheckName validates a user name: 1 to 39 lowercase letters, digits, '.',
// '_' or '-', starting with a letter or digit.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: user name %q must be 1-39 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// maxEmail is the longest address accepted (RFC 5321's 254-octet path).
const maxEmail = 254

// CheckEmail returns the address s if it is a plain address such as
// name@example.com (what sign-up accepts), and otherwise an error wrapping
// ErrInvalid that says what is wrong.
func CheckEmail(s string) (string, error) {
	if len(s) > maxEmail {
		return "", fmt.Errorf("%w: an email address has at most %d characters", ErrInvalid, maxEmail)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != strings.TrimSpace(s) || s == "" {
		return "", fmt.Errorf("%w: email %q is not a plain address like name@example.com", ErrInvalid, s)
	}
	return addr.Address, nil
}

// Users manages accounts.
type Users struct {
	db    *meta.DB
	now   func() time.Time
	dummy string // hash verified when the user does not exist

	throttle *throttle
	hashing  *limit.Slots
	notifier Notifier // nil: nobody is told of lockouts and new devices
	verify   *Verifications
	breaches Breaches // nil: no breach check
}

// NewUsers returns an account service over db with the default hashing
// limits (HashSlots(0), DefaultHashWait). now may be nil for time.Now.
func NewUsers(db *meta.DB, now func() time.Time) *Users {
	if now == nil {
		now = time.Now
	}
	return &Users{db: db, now: now, dummy: HashPassword("not a password: only spends the time a real check takes"),
		throttle: newThrottle(), hashing: limit.NewSlots(HashSlots(0), DefaultHashWait)}
}

// SetHashing replaces the limit on concurrent password hashing.
func (s *Users) SetHashing(slots *limit.Slots) { s.hashing = slots }

// hash runs fn in a hashing slot, or returns a busy error if none freed up.
func (s *Users) hash(ctx context.Context, fn func()) error {
	release, ok := s.hashing.Acquire(ctx)
	if !ok {
		return trove.Retry(time.Second, trove.ErrBusy, "too many sign-ins at once; try again in a moment")
	}
	defer release()
	fn()
	return nil
}

// A NewUser is an account to create.
type NewUser struct {
	Name     string
	Email    string
	Password string
	Admin    bool
	// PublicEmail shows the email address beside the name in public
	// metadata; by default it stays private.
	PublicEmail bool
	// Verified marks the address verified at once: an operator vouches
	// for it (trove admin user add --verified). Otherwise a verification
	// link is mailed, if SetVerifications was called.
	Verified bool
}

// Create validates and stores a new account.
func (s *Users) Create(ctx context.Context, nu NewUser) (*trove.User, error) {
	return s.create(ctx, nu, nil)
}

// create is Create, running also in its transaction (an invitation's use).
func (s *Users) create(ctx context.Context, nu NewUser, also func(context.Context, *meta.Tx) error) (*trove.User, error) {
	name := strings.ToLower(strings.TrimSpace(nu.Name))
	var errs []error
	if err := CheckName(name); err != nil {
		errs = append(errs, err)
	}
	email, err := CheckEmail(nu.Email)
	if err != nil {
		errs = append(errs, err)
	}
	if err := CheckPasswordPolicy(nu.Password, name, nu.Email); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.refuseBreached(ctx, nu.Password, "sign-up"); err != nil {
		return nil, err
	}
	var hash string
	if err := s.hash(ctx, func() { hash = HashPassword(nu.Password) }); err != nil {
		return nil, err
	}
	u := &trove.User{Name: name, Email: email, Admin: nu.Admin, PublicEmail: nu.PublicEmail, CreatedAt: s.now().UTC()}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertUser(ctx, u, hash); err != nil {
			return err
		}
		if also != nil {
			if err := also(ctx, tx); err != nil {
				return err
			}
		}
		return s.verifyNew(ctx, tx, u, nu.Verified)
	})
	if errors.Is(err, meta.ErrConflict) {
		if taken, err := s.db.UserByName(ctx, name); err == nil && taken.Deleted() {
			return nil, fmt.Errorf("%w: %s belonged to an account that was deleted, and names are never given again (nobody inherits another's packages or trust): choose another name", ErrExists, name)
		}
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	return u, nil
}

// SignIn returns the user if the password is theirs, and ErrBadCredentials
// otherwise, in about the same time whether or not the name exists. from
// is the client's address. The attempt is counted against the name's and
// the address's budgets before the password is checked; when they are
// spent, SignIn returns ErrThrottled (with the time to wait) without
// checking it. When every hashing slot stays busy it returns
// trove.ErrBusy, and the attempt does not count.
func (s *Users) SignIn(ctx context.Context, name, password string, from netip.Addr) (*trove.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	tk, err := s.reserve(ctx, name, from)
	if nl := (*nameLocked)(nil); errors.As(err, &nl) {
		s.lockedOut(ctx, name, nl.since, from)
	}
	if err != nil {
		return nil, err
	}
	u, hash, err := s.db.PasswordHash(ctx, name)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		s.refund(tk)
		return nil, fmt.Errorf("looking up user: %w", err)
	}
	if u == nil {
		hash = s.dummy
	}
	var ok bool
	var verr error
	if err := s.hash(ctx, func() { ok, verr = VerifyPassword(hash, password) }); err != nil {
		s.refund(tk)
		return nil, err
	}
	if verr != nil {
		s.refund(tk)
		return nil, fmt.Errorf("checking password of %s: %w", name, verr)
	}
	if u == nil || !ok {
		s.failed(tk, u != nil)
		return nil, ErrBadCredentials
	}
	if u.Disabled() {
		// The right password of a disabled account: not a guess to count,
		// and the same answer as a wrong one.
		s.refund(tk)
		return nil, ErrBadCredentials
	}
	s.succeeded(tk)
	s.seen(ctx, u, from)
	s.flagBreached(ctx, u, password, from)
	return u, nil
}

// ByName returns the user with the name, or an error wrapping
// trove.ErrNotFound that names it. A deleted account is not found.
func (s *Users) ByName(ctx context.Context, name string) (*trove.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := s.db.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.Deleted() {
		return nil, trove.Error(trove.ErrNotFound, "user %s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up user %s: %w", name, err)
	}
	return u, nil
}

// SetPublicEmail sets whether the user's email address appears beside
// their name in public metadata (npm packuments and search results). The
// documents naming the user change on every replica within
// registry.FollowInterval.
func (s *Users) SetPublicEmail(ctx context.Context, name string, public bool) (*trove.User, error) {
	u, err := s.ByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetPublicEmail(ctx, u.ID, public, s.now().UTC()) }); err != nil {
		return nil, fmt.Errorf("setting the email visibility of %s: %w", u.Name, err)
	}
	u.PublicEmail = public
	return u, nil
}

// Count returns the number of accounts.
func (s *Users) Count(ctx context.Context) (int, error) {
	return s.db.CountUsers(ctx)
}

// Verified reports whether the user's current email address is verified.
func (s *Users) Verified(ctx context.Context, u *trove.User) (bool, error) {
	at, err := s.db.EmailVerifiedAt(ctx, u.ID)
	return !at.IsZero(), err
}

// Any returns the account with the name, deleted or not (administrators
// look up deleted accounts' past events), or an error wrapping
// trove.ErrNotFound.
func (s *Users) Any(ctx context.Context, name string) (*trove.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := s.db.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "user %s not found", name)
	}
	return u, err
}
