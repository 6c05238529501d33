package access

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// CacheTTL bounds how long a verified token is remembered in memory. A token
// revoked on another replica stops working within this time; on the
// replica that revoked it, at once.
const CacheTTL = time.Second

// TouchEvery is the granularity of a token's time of last use: it is
// written at most once per TouchEvery per token, across replicas.
const TouchEvery = time.Minute

// A Spec describes a token to create.
type Spec struct {
	Description string
	Packages    []Pattern
	Actions     []Action
	// ExpiresAt is when the token stops working; zero means the default
	// lifetime from now. It may not be further than the maximum lifetime.
	ExpiresAt time.Time
	// NoExpiry asks for a token that never expires, which only
	// Lifetimes.AllowNoExpiry permits.
	NoExpiry bool
	// AuthLevel is how strongly the creator authenticated to mint it: the
	// level of the web session, of the npm login, or what the operator
	// CLI verified. The token keeps it for life.
	AuthLevel trove.AuthLevel
	// PublisherID is the trusted publisher minting the token (0: none).
	PublisherID int64
	// CIDRs, when not empty, are the only client addresses the token may
	// be presented from (see ParseCIDRs); at most MaxCIDRs.
	CIDRs []netip.Prefix
}

// Lifetimes bound how long tokens live, however they are made: every
// token has an expiry unless the operator allows tokens without one.
type Lifetimes struct {
	// Default is the lifetime of a token whose creator does not ask for one.
	Default time.Duration
	// Max is the longest lifetime a creator may ask for.
	Max time.Duration
	// AllowNoExpiry permits tokens that never expire (Spec.NoExpiry).
	AllowNoExpiry bool
}

// DefaultLifetimes are the lifetimes of a new Tokens: 90 days unless the
// creator asks otherwise, at most 365 days, never unlimited.
var DefaultLifetimes = Lifetimes{Default: 90 * 24 * time.Hour, Max: 365 * 24 * time.Hour}

// Tokens creates, checks, lists and revokes API tokens.
type Tokens struct {
	db   *meta.DB
	now  func() time.Time
	life Lifetimes

	mu    sync.RWMutex
	cache map[string]cachedPrincipal // by token hash

	onCreate func(ctx context.Context, tx *meta.Tx, tok *trove.Token) error
	onRevoke func(ctx context.Context, tx *meta.Tx, rv Revoked) error
}

// OnCreate sets fn to run in the transaction that stores each new token
// (the owner's notification of it, durable with the token); an error
// from fn fails the creation.
func (t *Tokens) OnCreate(fn func(ctx context.Context, tx *meta.Tx, tok *trove.Token) error) {
	t.onCreate = fn
}

type cachedPrincipal struct {
	p       *Principal
	expires time.Time // of the token itself; zero: never
	until   time.Time // of this cache entry
	used    time.Time // the token's time of last use, as last read or written
}

// NewTokens returns a token service over db. now may be nil for time.Now.
func NewTokens(db *meta.DB, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{db: db, now: now, life: DefaultLifetimes, cache: make(map[string]cachedPrincipal)}
}

// SetLifetimes replaces the lifetimes new tokens get; call it before
// the service is used.
func (t *Tokens) SetLifetimes(l Lifetimes) { t.life = l }

// Lifetimes returns the lifetimes new tokens get.
func (t *Tokens) Lifetimes() Lifetimes { return t.life }

// days formats a lifetime for people.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// Create makes a token for the user and returns its secret, which is not
// stored and cannot be shown again.
func (t *Tokens) Create(ctx context.Context, userID int64, spec Spec) (string, *trove.Token, error) {
	if len(spec.Packages) == 0 {
		return "", nil, trove.Error(trove.ErrInvalid, "a token needs at least one package pattern (use * for all packages)")
	}
	if len(spec.Actions) == 0 {
		return "", nil, trove.Error(trove.ErrInvalid, "a token needs at least one action (read, publish, yank, tokens or curate)")
	}
	if len(spec.CIDRs) > MaxCIDRs {
		return "", nil, trove.Error(trove.ErrInvalid, "a token may list at most %d address prefixes, not %d", MaxCIDRs, len(spec.CIDRs))
	}
	now := t.now().UTC()
	switch {
	case spec.NoExpiry && !t.life.AllowNoExpiry:
		return "", nil, trove.Error(trove.ErrInvalid, "tokens must expire on this registry, within %s (tokens.max_lifetime); ask for an expiry, or an administrator may set tokens.allow_no_expiry", days(t.life.Max))
	case spec.NoExpiry:
		spec.ExpiresAt = time.Time{}
	case spec.ExpiresAt.IsZero():
		spec.ExpiresAt = now.Add(t.life.Default)
	case !spec.ExpiresAt.After(now):
		return "", nil, trove.Error(trove.ErrInvalid, "expiry %s is in the past", spec.ExpiresAt.Format(time.RFC3339))
	case spec.ExpiresAt.After(now.Add(t.life.Max + time.Minute)): // a minute for the caller's clock reading
		return "", nil, trove.Error(trove.ErrInvalid, "a token may last at most %s on this registry (tokens.max_lifetime); ask for an earlier expiry", days(t.life.Max))
	}
	secret := NewToken()
	tok := &trove.Token{
		PublicID:    newPublicID(),
		Hash:        HashToken(secret),
		UserID:      userID,
		Description: spec.Description,
		CreatedAt:   now,
		ExpiresAt:   spec.ExpiresAt.UTC(),
		AuthLevel:   spec.AuthLevel,
		PublisherID: spec.PublisherID,
	}
	for _, p := range spec.Packages {
		tok.Packages = append(tok.Packages, string(p))
	}
	for _, a := range spec.Actions {
		tok.Actions = append(tok.Actions, string(a))
	}
	for _, c := range spec.CIDRs {
		if !c.IsValid() {
			return "", nil, trove.Error(trove.ErrInvalid, "an address prefix of the token is not valid")
		}
		tok.CIDRs = append(tok.CIDRs, c.Masked().String())
	}
	// Under the user's row lock, as RevokeAll: a token is created either
	// before a revocation of all the user's tokens, and revoked by it, or
	// after it, with a later creation time.
	err := t.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockUser(ctx, userID); err != nil {
			return err
		}
		if u, err := tx.UserByID(ctx, userID); err != nil {
			return err
		} else if u.PasswordReset {
			return MustChangePasswordError(u.Name)
		}
		tok.CreatedAt = t.now().UTC()
		if err := tx.InsertToken(ctx, tok); err != nil || t.onCreate == nil {
			return err
		}
		return t.onCreate(ctx, tx, tok)
	})
	if errors.Is(err, ErrDenied) {
		return "", nil, err
	}
	if err != nil {
		return "", nil, fmt.Errorf("storing token: %w", err)
	}
	return secret, tok, nil
}

// Authenticate returns the principal a token secret stands for. Every
// failure (malformed, unknown, expired, revoked) wraps ErrUnauthenticated;
// a token presented from an address outside its allow-list is refused
// with ErrDenied (the client's address comes from WithClientAddr; a token
// with an allow-list is refused when ctx carries none). A successful use
// is recorded as the token's time of last use, to TouchEvery.
func (t *Tokens) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if err := CheckToken(secret); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	h := HashToken(secret)
	now := t.now()
	t.mu.RLock()
	c, ok := t.cache[h]
	t.mu.RUnlock()
	if ok && now.Before(c.until) {
		if !c.expires.IsZero() && !now.Before(c.expires) {
			return nil, fmt.Errorf("%w: token expired at %s", ErrUnauthenticated, c.expires.Format(time.RFC3339))
		}
		if err := checkAddr(ctx, c.p.cidrs); err != nil {
			return nil, err
		}
		t.touch(ctx, h, c.p.TokenID, c.used, now)
		return c.p, nil
	}
	tok, err := t.db.TokenByHash(ctx, h)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up token: %w", err)
	}
	if !tok.RevokedAt.IsZero() {
		return nil, fmt.Errorf("%w: token was revoked", ErrUnauthenticated)
	}
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return nil, fmt.Errorf("%w: token expired at %s", ErrUnauthenticated, tok.ExpiresAt.Format(time.RFC3339))
	}
	u, err := t.db.UserByID(ctx, tok.UserID)
	if err != nil {
		return nil, fmt.Errorf("looking up token owner: %w", err)
	}
	if u.Disabled() {
		return nil, fmt.Errorf("%w: the token's account is disabled", ErrUnauthenticated)
	}
	if u.Deleted() { // its tokens were deleted with it: belt and braces
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	p := &Principal{UserID: u.ID, UserName: u.Name, Email: u.Email, Admin: u.Admin, TokenID: tok.ID, TokenPublicID: tok.PublicID, tokenHash: h,
		Level: tok.AuthLevel, PublisherID: tok.PublisherID, MustChangePassword: u.PasswordReset}
	for _, s := range tok.Packages {
		p.Packages = append(p.Packages, Pattern(s))
	}
	for _, s := range tok.Actions {
		p.Actions = append(p.Actions, Action(s))
	}
	for _, s := range tok.CIDRs {
		c, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("token %s has a stored address prefix %q that does not parse: %w", tok.PublicID, s, err)
		}
		p.cidrs = append(p.cidrs, c)
	}
	t.mu.Lock()
	if len(t.cache) > 100_000 {
		clear(t.cache)
	}
	t.cache[h] = cachedPrincipal{p: p, expires: tok.ExpiresAt, until: now.Add(CacheTTL), used: tok.LastUsedAt}
	t.mu.Unlock()
	if err := checkAddr(ctx, p.cidrs); err != nil {
		return nil, err
	}
	t.touch(ctx, h, tok.ID, tok.LastUsedAt, now)
	return p, nil
}

// touch records a use of the token at now if the last one known (used)
// is TouchEvery old. Best effort: the time of last use is informational.
// The update itself skips a write another replica made within
// TouchEvery, so the stored time is right to that granularity.
func (t *Tokens) touch(ctx context.Context, h string, id int64, used, now time.Time) {
	if now.Sub(used) < TouchEvery {
		return
	}
	t.mu.Lock()
	if c, ok := t.cache[h]; ok {
		c.used = now
		t.cache[h] = c
	}
	t.mu.Unlock()
	_ = t.db.Tx(ctx, func(tx *meta.Tx) error { return tx.TouchToken(ctx, id, now.UTC(), TouchEvery) })
}

// Forget drops the user's tokens from this replica's cache, so that a
// change to the account (disabling it) applies to them at once here and
// within CacheTTL on the others.
func (t *Tokens) Forget(userID int64) {
	t.mu.Lock()
	for h, c := range t.cache {
		if c.p.UserID == userID {
			delete(t.cache, h)
		}
	}
	t.mu.Unlock()
}

// List returns the user's tokens, newest first.
func (t *Tokens) List(ctx context.Context, userID int64) ([]*trove.Token, error) {
	return t.db.TokensOfUser(ctx, userID)
}
