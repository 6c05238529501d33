package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Browser logins (npm's web login flow): a client starts a session and
// gets two secrets. It shows the login secret to a person as a URL, where
// they sign in, and polls with the done secret until that sign-in mints an
// API token, which it receives once. Only hashes of the secrets are stored.
const (
	LoginSessionTTL = 10 * time.Minute
	// LoginTokenTTL is how long a token minted by a login lasts, unless
	// the registry's maximum token lifetime is shorter.
	LoginTokenTTL = 30 * 24 * time.Hour
)

// LoginTokenExpiry returns when a token minted by a login at now
// expires: after LoginTokenTTL, or the tokens' maximum lifetime if that is
// shorter.
func LoginTokenExpiry(tokens *access.Tokens, now time.Time) time.Time {
	return now.Add(min(LoginTokenTTL, tokens.Lifetimes().Max))
}

// ErrLoginNotFound reports an unknown, expired or already used login session.
var ErrLoginNotFound = errors.New("login session not found or expired; start the login again")

// Logins runs browser login sessions.
type Logins struct {
	db     *meta.DB
	tokens *access.Tokens
	now    func() time.Time
}

// NewLogins returns a login service. now may be nil for time.Now.
func NewLogins(db *meta.DB, tokens *access.Tokens, now func() time.Time) *Logins {
	if now == nil {
		now = time.Now
	}
	return &Logins{db: db, tokens: tokens, now: now}
}

func secret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Start creates a session and returns its login and done secrets.
func (l *Logins) Start(ctx context.Context) (loginID, doneID string, err error) {
	loginID, doneID = secret(), secret()
	at := l.now().UTC()
	s := &meta.LoginSession{LoginHash: access.HashToken(loginID), DoneHash: access.HashToken(doneID), CreatedAt: at, ExpiresAt: at.Add(LoginSessionTTL)}
	if err := l.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertLoginSession(ctx, s) }); err != nil {
		return "", "", fmt.Errorf("starting login: %w", err)
	}
	return loginID, doneID, nil
}

func (l *Logins) live(s *meta.LoginSession, err error) (*meta.LoginSession, error) {
	if errors.Is(err, meta.ErrNotFound) || err == nil && !l.now().Before(s.ExpiresAt) {
		return nil, ErrLoginNotFound
	}
	return s, err
}

// Pending reports whether the login secret names a live session that no
// one has signed in to yet.
func (l *Logins) Pending(ctx context.Context, loginID string) error {
	s, err := l.live(l.db.LoginSessionByLogin(ctx, access.HashToken(loginID)))
	if err != nil {
		return err
	}
	if s.UserID != 0 {
		return ErrLoginNotFound
	}
	return nil
}

// Complete records that the user signed in to the session.
//
// level is how u signed in on the web (their session's level): the token
// the login mints carries it, so a login after a second factor can
// publish where the MFA policy asks for one.
func (l *Logins) Complete(ctx context.Context, loginID string, u *trove.User, level trove.AuthLevel) error {
	s, err := l.live(l.db.LoginSessionByLogin(ctx, access.HashToken(loginID)))
	if err != nil {
		return err
	}
	err = l.db.Tx(ctx, func(tx *meta.Tx) error { return tx.CompleteLoginSession(ctx, s.ID, u.ID, int(level)) })
	if errors.Is(err, meta.ErrNotFound) {
		return ErrLoginNotFound
	}
	return err
}

// Poll returns "" while no one has signed in, and once someone has, a new
// API token for them, ending the session: a second Poll finds nothing.
func (l *Logins) Poll(ctx context.Context, doneID string) (string, error) {
	s, err := l.live(l.db.LoginSessionByDone(ctx, access.HashToken(doneID)))
	if err != nil || s.UserID == 0 {
		return "", err
	}
	// Deleting first makes the token single-issue even under concurrent polls.
	err = l.db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteLoginSession(ctx, s.ID) })
	if errors.Is(err, meta.ErrNotFound) {
		return "", ErrLoginNotFound
	}
	if err != nil {
		return "", err
	}
	tok, _, err := l.tokens.Create(ctx, s.UserID, access.Spec{
		Description: "browser login",
		Packages:    []access.Pattern{"*"},
		Actions:     access.Actions,
		ExpiresAt:   LoginTokenExpiry(l.tokens, l.now()),
		// How the person signed in on the web (at least a password).
		AuthLevel: max(trove.AuthLevel(s.AuthLevel), trove.AuthPassword),
	})
	return tok, err
}
