// Package account manages user accounts: names, email addresses and
// passwords (argon2id). Later: sessions, MFA, recovery.
//
// # Invariants
//
//   - Passwords are stored only as argon2id hashes with a random salt.
//   - Signing in with an unknown name costs the same hash as with a known
//     one, and fails with the same error, so timing and answers do not tell
//     which names exist.
package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// Errors callers branch on.
var (
	// ErrBadCredentials reports a wrong name or password, without saying which.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrInvalid reports an unacceptable name, email or password.
	ErrInvalid = errors.New("invalid account data")
	// ErrExists reports that the user name is taken.
	ErrExists = errors.New("user name is taken")
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
}

// NewUsers returns an account service over db. now may be nil for time.Now.
func NewUsers(db *meta.DB, now func() time.Time) *Users {
	if now == nil {
		now = time.Now
	}
	return &Users{db: db, now: now, dummy: HashPassword("not a password: only spends the time a real check takes")}
}

// A NewUser is an account to create.
type NewUser struct {
	Name     string
	Email    string
	Password string
	Admin    bool
}

// Create validates and stores a new account.
func (s *Users) Create(ctx context.Context, nu NewUser) (*meta.User, error) {
	name := strings.ToLower(strings.TrimSpace(nu.Name))
	var errs []error
	if err := CheckName(name); err != nil {
		errs = append(errs, err)
	}
	addr, err := mail.ParseAddress(nu.Email)
	if err != nil || addr.Address != strings.TrimSpace(nu.Email) {
		errs = append(errs, fmt.Errorf("%w: email %q is not a plain address like name@example.com", ErrInvalid, nu.Email))
	}
	if err := CheckPasswordPolicy(nu.Password); err != nil {
		errs = append(errs, fmt.Errorf("%w: %v", ErrInvalid, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	u := &meta.User{Name: name, Email: addr.Address, PasswordHash: HashPassword(nu.Password), Admin: nu.Admin, CreatedAt: s.now().UTC()}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u) })
	if errors.Is(err, meta.ErrConflict) {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	return u, nil
}

// SignIn returns the user if the password is theirs, and ErrBadCredentials
// otherwise, in about the same time whether or not the name exists.
func (s *Users) SignIn(ctx context.Context, name, password string) (*meta.User, error) {
	u, err := s.db.UserByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("looking up user: %w", err)
	}
	hash := s.dummy
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("checking password of %s: %w", name, err)
	}
	if u == nil || !ok {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// ByName returns the user with the name, or an error wrapping meta.ErrNotFound.
func (s *Users) ByName(ctx context.Context, name string) (*meta.User, error) {
	return s.db.UserByName(ctx, strings.ToLower(strings.TrimSpace(name)))
}

// Count returns the number of accounts.
func (s *Users) Count(ctx context.Context) (int, error) {
	return s.db.CountUsers(ctx)
}
