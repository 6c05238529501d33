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
//   - Password guessing is bounded: after MaxFailures failed sign-ins for a
//     name within FailureWindow, sign-ins for that name are refused with
//     ErrThrottled, without checking the password, until the window ends;
//     known and unknown names alike.
package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

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
	// ErrThrottled reports too many failed sign-ins for a user name.
	ErrThrottled = errors.New("too many failed sign-ins")
)

// Brute-force limits of SignIn. The counts are kept in memory, per
// process: each replica allows MaxFailures guesses per name per window.
const (
	MaxFailures   = 10
	FailureWindow = 15 * time.Minute
	// maxTracked bounds the names whose failures are counted; beyond it,
	// failures of new names are not counted until old windows expire.
	maxTracked = 100_000
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,38}$`)

// CheckName validates a user name: 1 to 39 lowercase letters, digits, '.',
// '_' or '-', starting with a letter or digit.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: user name %q must be 1-39 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// Users manages accounts.
type Users struct {
	db    *meta.DB
	now   func() time.Time
	dummy string // hash verified when the user does not exist

	mu       sync.Mutex
	failures map[string]*failures // by normalized name
}

// failures counts the failed sign-ins of a name since the window began.
type failures struct {
	n     int
	since time.Time
}

// NewUsers returns an account service over db. now may be nil for time.Now.
func NewUsers(db *meta.DB, now func() time.Time) *Users {
	if now == nil {
		now = time.Now
	}
	return &Users{db: db, now: now, dummy: HashPassword("not a password: only spends the time a real check takes"),
		failures: make(map[string]*failures)}
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
}

// Create validates and stores a new account.
func (s *Users) Create(ctx context.Context, nu NewUser) (*trove.User, error) {
	name := strings.ToLower(strings.TrimSpace(nu.Name))
	var errs []error
	if err := CheckName(name); err != nil {
		errs = append(errs, err)
	}
	addr, err := mail.ParseAddress(nu.Email)
	if err != nil || addr.Address != strings.TrimSpace(nu.Email) {
		errs = append(errs, fmt.Errorf("%w: email %q is not a plain address like name@example.com", ErrInvalid, nu.Email))
	}
	if err := CheckPasswordPolicy(nu.Password, name, nu.Email); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	u := &trove.User{Name: name, Email: addr.Address, Admin: nu.Admin, PublicEmail: nu.PublicEmail, CreatedAt: s.now().UTC()}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, HashPassword(nu.Password)) })
	if errors.Is(err, meta.ErrConflict) {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	return u, nil
}

// SignIn returns the user if the password is theirs, and ErrBadCredentials
// otherwise, in about the same time whether or not the name exists. After
// MaxFailures failures for the name within FailureWindow it returns
// ErrThrottled until the window ends, without checking the password.
func (s *Users) SignIn(ctx context.Context, name, password string) (*trove.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if err := s.throttled(name); err != nil {
		return nil, err
	}
	u, hash, err := s.db.PasswordHash(ctx, name)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("looking up user: %w", err)
	}
	if u == nil {
		hash = s.dummy
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("checking password of %s: %w", name, err)
	}
	if u == nil || !ok {
		s.failed(name)
		return nil, ErrBadCredentials
	}
	s.mu.Lock()
	delete(s.failures, name)
	s.mu.Unlock()
	return u, nil
}

// throttled returns ErrThrottled if the name has used up its failures.
func (s *Users) throttled(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[name]
	if f == nil || f.n < MaxFailures {
		return nil
	}
	wait := f.since.Add(FailureWindow).Sub(s.now())
	if wait <= 0 {
		delete(s.failures, name)
		return nil
	}
	return fmt.Errorf("%w for %s: try again in %s", ErrThrottled, name, wait.Round(time.Second))
}

// failed counts a failed sign-in of the name.
func (s *Users) failed(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	f := s.failures[name]
	if f == nil || now.Sub(f.since) >= FailureWindow {
		if f == nil && len(s.failures) >= maxTracked {
			for n, old := range s.failures {
				if now.Sub(old.since) >= FailureWindow {
					delete(s.failures, n)
				}
			}
			if len(s.failures) >= maxTracked {
				return
			}
		}
		f = &failures{since: now}
		s.failures[name] = f
	}
	f.n++
}

// ByName returns the user with the name, or an error wrapping
// trove.ErrNotFound that names it.
func (s *Users) ByName(ctx context.Context, name string) (*trove.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := s.db.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
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
