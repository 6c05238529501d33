package account

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Browser sessions (PKM-01): a session begins when a person signs in on
// the web interface, and its secret travels in a cookie. Only the secret's
// hash is stored, in the database, so every replica serves every session.
//
// A session ends at the first of: its absolute lifetime (SessionLimits.
// Lifetime from the sign-in), SessionLimits.Idle without a request, its
// revocation (sign-out, "sign out other sessions", a password change, an
// administrator disabling the account), or the account being disabled.
//
// The sign-in is a small state machine:
//
//	password ok ──► factors needed? ──no──► live (AuthPassword)
//	                     │yes
//	                     ▼
//	                 pending ──factor passes (Pass)──► live (its level)
//
// A pending session proves only the password: the web interface lets it
// reach the second-factor pages and nothing else. Sudo mode is a time:
// sensitive changes need SudoUntil in the future, set by the sign-in and by
// each re-authentication (Sudo).
const (
	DefaultSessionLifetime = 12 * time.Hour
	DefaultSessionIdle     = time.Hour
	DefaultSudo            = 10 * time.Minute
	// touchEvery bounds the writes a session costs: its last use is
	// recorded at most once a minute, so idle expiry is exact to a minute.
	touchEvery = time.Minute
	// MaxUserAgent is how much of a user agent a session keeps.
	MaxUserAgent = 200
)

// ErrNoSession reports a session secret that names no live session:
// unknown, expired, idle too long, revoked, or of a disabled account.
var ErrNoSession = errors.New("not signed in, or the session ended")

// SessionLimits bound how long sessions last.
type SessionLimits struct {
	Lifetime time.Duration // from the sign-in, whatever happens
	Idle     time.Duration // without a request
	Sudo     time.Duration // a re-authentication counts for this long
}

// A Session is a live browser session.
type Session = meta.WebSession

// Sessions runs browser sessions.
type Sessions struct {
	db     *meta.DB
	now    func() time.Time
	limits SessionLimits
}

// NewSessions returns a session service with the default limits. now may
// be nil for time.Now.
func NewSessions(db *meta.DB, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{db: db, now: now, limits: SessionLimits{DefaultSessionLifetime, DefaultSessionIdle, DefaultSudo}}
}

// SetLimits replaces the limits; call it before the service is used.
// Zero fields keep their defaults.
func (s *Sessions) SetLimits(l SessionLimits) {
	if l.Lifetime > 0 {
		s.limits.Lifetime = l.Lifetime
	}
	if l.Idle > 0 {
		s.limits.Idle = l.Idle
	}
	if l.Sudo > 0 {
		s.limits.Sudo = l.Sudo
	}
}

// Limits returns the limits in force.
func (s *Sessions) Limits() SessionLimits { return s.limits }

// A Device is where a session was started from, as its owner sees it in
// their session list.
type Device struct {
	Client    string // the client address
	UserAgent string
}

// Start begins a session for the user, who just proved their password,
// and returns its secret (for the cookie; not stored). pending means a
// second factor is still owed (see Pass). A password sign-in counts as a
// re-authentication: the session starts in sudo mode.
func (s *Sessions) Start(ctx context.Context, u *trove.User, pending bool, d Device) (string, *Session, error) {
	if u.Disabled() || u.Deleted() {
		return "", nil, ErrBadCredentials
	}
	secret := access.NewToken()
	now := s.now().UTC()
	ses := &Session{Hash: access.HashToken(secret), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.limits.Lifetime), Level: trove.AuthPassword, Pending: pending,
		SudoUntil: now.Add(s.limits.Sudo), Client: d.Client, UserAgent: truncate(d.UserAgent, MaxUserAgent)}
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertWebSession(ctx, ses) }); err != nil {
		return "", nil, fmt.Errorf("starting a session: %w", err)
	}
	return secret, ses, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Authenticate returns the live session a secret names and its user, or
// ErrNoSession. It records the use at most once a minute.
func (s *Sessions) Authenticate(ctx context.Context, secret string) (*Session, *trove.User, error) {
	if access.CheckToken(secret) != nil {
		return nil, nil, ErrNoSession
	}
	ses, err := s.db.WebSessionByHash(ctx, access.HashToken(secret))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, fmt.Errorf("looking up a session: %w", err)
	}
	now := s.now().UTC()
	if !s.live(ses, now) {
		return nil, nil, ErrNoSession
	}
	u, err := s.db.UserByID(ctx, ses.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("looking up a session's user: %w", err)
	}
	if u.Disabled() || u.Deleted() { // a deleted account has no sessions left: belt and braces
		return nil, nil, ErrNoSession
	}
	if now.Sub(ses.LastSeenAt) >= touchEvery {
		if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.TouchWebSession(ctx, ses.ID, now) }); err != nil {
			return nil, nil, fmt.Errorf("recording a session's use: %w", err)
		}
		ses.LastSeenAt = now
	}
	return ses, u, nil
}

// live reports whether the session may serve a request at now.
func (s *Sessions) live(ses *Session, now time.Time) bool {
	return ses.RevokedAt.IsZero() && now.Before(ses.ExpiresAt) && now.Sub(ses.LastSeenAt) < s.limits.Idle
}

// InSudo reports whether the session re-authenticated recently enough
// for a sensitive change.
func (s *Sessions) InSudo(ses *Session) bool { return s.now().Before(ses.SudoUntil) }

// Pass ends a pending session's second step: the factor passed with the
// level. It is also a re-authentication.
func (s *Sessions) Pass(ctx context.Context, ses *Session, level trove.AuthLevel) error {
	until := s.now().UTC().Add(s.limits.Sudo)
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.PassWebSession(ctx, ses.ID, level, until) }); err != nil {
		return s.ended(err)
	}
	ses.Level, ses.Pending, ses.SudoUntil = level, false, until
	return nil
}

// Sudo records a re-authentication of the session now.
func (s *Sessions) Sudo(ctx context.Context, ses *Session) error {
	until := s.now().UTC().Add(s.limits.Sudo)
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SudoWebSession(ctx, ses.ID, until) }); err != nil {
		return s.ended(err)
	}
	ses.SudoUntil = until
	return nil
}

func (s *Sessions) ended(err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return ErrNoSession
	}
	return fmt.Errorf("updating a session: %w", err)
}

// List returns the user's live sessions, most recently used first.
func (s *Sessions) List(ctx context.Context, userID int64) ([]*Session, error) {
	all, err := s.db.WebSessionsOfUser(ctx, userID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	live := all[:0]
	for _, ses := range all {
		if s.live(ses, s.now()) {
			live = append(live, ses)
		}
	}
	return live, nil
}

// Revoke ends the user's session with the id (signing out). Another
// user's session is trove.ErrNotFound.
func (s *Sessions) Revoke(ctx context.Context, userID, id int64) error {
	err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.RevokeWebSession(ctx, userID, id, s.now().UTC()) })
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "you have no such session")
	}
	return err
}

// RevokeAll ends every session of the user except keep (0: all), and
// returns how many it ended.
func (s *Sessions) RevokeAll(ctx context.Context, userID, keep int64) (int, error) {
	var n int
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		n, err = tx.RevokeWebSessionsOfUser(ctx, userID, keep, s.now().UTC())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ending the sessions of user %d: %w", userID, err)
	}
	return n, nil
}
