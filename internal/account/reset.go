package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Password reset by email (docs/security/account-recovery.md)
//
// Start mails a single-use link valid for ResetTTL to the account's
// address, only while the address's domain is alive (see
// [Domains.ResetAllowed]). Its answer is the same whether or not the
// account exists, and it returns before any of the work that depends on
// the account (lookups, DNS, mail) is done, so its timing does not tell
// either. Complete sets the new password, ends the other links and
// revokes every API token and browser session of the account.

// A Mail is one plain-text message.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// A Mailer sends mail; Send returns once the message is queued durably.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Reset limits.
const (
	// ResetTTL is how long a reset link works.
	ResetTTL = time.Hour
	// ResetsPerAccount bounds the links mailed to one account per
	// ResetTTL; further requests are dropped (and logged).
	ResetsPerAccount = 3
	// resetWork bounds the background work of one request.
	resetWork = 30 * time.Second
)

// DefaultResetRate limits reset requests and confirmations per client
// address.
var DefaultResetRate = limit.Rate{N: 5, Per: 15 * time.Minute}

// ErrResetInvalid reports a reset link that is unknown, used, expired or
// for an address the account no longer has.
var ErrResetInvalid = fmt.Errorf("%w: this password reset link is invalid, used or expired: ask for a new one", ErrInvalid)

// Resets runs password resets.
type Resets struct {
	users   *Users
	db      *meta.DB
	domains *Domains
	mail    Mailer
	link    func(token string) string
	rates   *limit.Rates
	wg      sync.WaitGroup
}

// NewResets returns the reset service. link makes the URL of the page
// that completes a reset from a token (the web's /-/reset/confirm).
func NewResets(users *Users, domains *Domains, mail Mailer, link func(token string) string) *Resets {
	return &Resets{users: users, db: users.db, domains: domains, mail: mail, link: link,
		rates: limit.NewRates(DefaultResetRate, users.now)}
}

// SetRate replaces the limit per client address.
func (r *Resets) SetRate(rt limit.Rate) { r.rates = limit.NewRates(rt, r.users.now) }

// Wait waits for the work of the requests started so far.
func (r *Resets) Wait() { r.wg.Wait() }

// allow takes one request of the client address from its budget.
func (r *Resets) allow(from netip.Addr) error {
	if !from.IsValid() {
		return nil
	}
	if ok, wait := r.rates.Allow(limit.Key(from).String()); !ok {
		return trove.Retry(wait, trove.ErrTooMany, "too many password reset requests from your address; try again in %s", wait.Round(time.Second))
	}
	return nil
}

// Start asks for a reset link for the account with the name, or for every
// account with the email address. It returns nil whether or not one
// exists; only an empty request or the address's rate limit is an error.
func (r *Resets) Start(ctx context.Context, who string, from netip.Addr) error {
	who = strings.TrimSpace(who)
	if who == "" || len(who) > 320 {
		return fmt.Errorf("%w: give your user name or email address", ErrInvalid)
	}
	if err := r.allow(from); err != nil {
		return err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resetWork)
		defer cancel()
		r.start(ctx, who, from)
	}()
	return nil
}

// start finds the accounts and starts a reset for each.
func (r *Resets) start(ctx context.Context, who string, from netip.Addr) {
	var users []*trove.User
	var err error
	if strings.Contains(who, "@") {
		users, err = r.db.UsersByEmail(ctx, who)
	} else {
		var u *trove.User
		u, err = r.db.UserByName(ctx, strings.ToLower(who))
		users = []*trove.User{u}
	}
	if errors.Is(err, meta.ErrNotFound) || len(users) == 0 {
		slog.Info("password reset asked for an unknown account", "client", clientString(from))
		return
	}
	if err != nil {
		slog.Error("password reset: looking up the account", "err", err)
		return
	}
	for _, u := range users {
		if u.Deleted() {
			slog.Info("password reset asked for a deleted account", "client", clientString(from))
			continue
		}
		if u.Disabled() {
			slog.Warn("password reset asked for a disabled account: not sent", "user", u.Name, "client", clientString(from))
			continue
		}
		if err := r.startFor(ctx, u, from); err != nil {
			slog.Error("password reset not sent", "user", u.Name, "err", err)
		}
	}
}

// startFor mails a reset link to u if its domain is alive and it is
// within its budget.
func (r *Resets) startFor(ctx context.Context, u *trove.User, from netip.Addr) error {
	now := r.users.now().UTC()
	if n, err := r.db.CountPasswordResets(ctx, u.ID, now.Add(-ResetTTL)); err != nil || n >= ResetsPerAccount {
		if err == nil {
			slog.Warn("password reset dropped: the account had its links for the hour", "user", u.Name, "client", clientString(from))
		}
		return err // the budget is checked again, under a lock, before a link is stored
	}
	if r.users.verify != nil {
		verified, err := r.users.verify.Verified(ctx, u.ID)
		if err != nil {
			return err
		}
		if !verified {
			slog.Warn("password reset refused: the account's address was never verified", "user", u.Name, "client", clientString(from))
			return nil
		}
	}
	domain := EmailDomain(u.Email)
	ok, why, err := r.domains.ResetAllowed(ctx, domain)
	if err != nil {
		return err
	}
	if !ok {
		slog.Warn("password reset refused: the email domain is not trusted to receive it", "user", u.Name, "domain", domain, "reason", why,
			"client", clientString(from))
		r.users.notify(ctx, Event{Kind: EventPasswordReset, UserID: u.ID, Client: clientString(from),
			Detail: "a password reset was asked for and refused, because the domain of your address cannot be trusted to receive it (" + why +
				"): use a recovery code, a passkey, or ask an administrator"})
		return nil
	}
	token, hash := newResetToken()
	reset := meta.PasswordReset{TokenHash: hash, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}
	full := false
	err = r.db.Tx(ctx, func(tx *meta.Tx) error {
		// The account's row locked, the count and the insert are one step:
		// however many requests for the account run at once (on however
		// many replicas), no more than ResetsPerAccount links are made.
		if _, err := tx.UserForUpdate(ctx, u.ID); err != nil {
			return err
		}
		n, err := tx.CountPasswordResets(ctx, u.ID, now.Add(-ResetTTL))
		if full = n >= ResetsPerAccount; err != nil || full {
			return err
		}
		return tx.InsertPasswordReset(ctx, reset)
	})
	if err != nil {
		return fmt.Errorf("storing the reset: %w", err)
	}
	if full {
		slog.Warn("password reset dropped: the account had its links for the hour", "user", u.Name, "client", clientString(from))
		return nil
	}
	return r.mail.Send(ctx, Mail{To: u.Email, Subject: "Reset your password", Text: resetText(u.Name, r.link(token), from)})
}

func resetText(name, link string, from netip.Addr) string {
	asker := "someone"
	if from.IsValid() {
		asker = "someone at " + from.String()
	}
	return fmt.Sprintf(`Hello %s,

%s asked to reset the password of your account. To choose a new
password, open this link within %d minutes; it works once:

%s

Resetting your password also revokes all your API tokens.

If you did not ask for this, ignore this message: your password stays
as it is.
`, name, asker, int(ResetTTL/time.Minute), link)
}

// newResetToken returns a random token (256 bits, URL-safe) and its hash.
func newResetToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashResetToken(token)
}

func hashResetToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Check reports whether token is a live reset link, and for whom, without
// using it (the page that asks for the new password).
func (r *Resets) Check(ctx context.Context, token string) (*trove.User, error) {
	_, u, err := r.lookup(ctx, token)
	return u, err
}

// lookup returns a live reset and its account.
func (r *Resets) lookup(ctx context.Context, token string) (*meta.PasswordReset, *trove.User, error) {
	if len(token) != 43 {
		return nil, nil, ErrResetInvalid
	}
	reset, err := r.db.PasswordResetByHash(ctx, hashResetToken(token))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil, ErrResetInvalid
	}
	if err != nil {
		return nil, nil, fmt.Errorf("looking up the reset: %w", err)
	}
	if !reset.UsedAt.IsZero() || !r.users.now().Before(reset.ExpiresAt) {
		return nil, nil, ErrResetInvalid
	}
	u, err := r.db.UserByID(ctx, reset.UserID)
	if err != nil || !strings.EqualFold(u.Email, reset.Email) || u.Disabled() {
		return nil, nil, ErrResetInvalid
	}
	return reset, u, nil
}

// Complete sets the password of the account the token was mailed for,
// if the token is live and the password passes the policy and the breach
// check (a refused password leaves the link usable). It ends the
// account's other links, revokes all its API tokens and browser sessions
// (on this replica at once for sessions; tokens cached here and on other
// replicas stop within access.CacheTTL), and tells the owner.
func (r *Resets) Complete(ctx context.Context, token, pw string, from netip.Addr) (*trove.User, error) {
	if err := r.allow(from); err != nil {
		return nil, err
	}
	reset, u, err := r.lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := r.users.checkNewPassword(ctx, u, pw, "password reset"); err != nil {
		return nil, err
	}
	var hash string
	if err := r.users.hash(ctx, func() { hash = HashPassword(pw) }); err != nil {
		return nil, err
	}
	now := r.users.now().UTC()
	var revoked int
	err = r.db.Tx(ctx, func(tx *meta.Tx) error {
		// Under the user's row lock, as token creation (access.Tokens.Create).
		if err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.UsePasswordReset(ctx, reset.TokenHash, now); err != nil {
			return err
		}
		if err := storePassword(ctx, tx, u.ID, hash, now); err != nil {
			return err
		}
		if revoked, err = tx.RevokeTokensOfUser(ctx, u.ID, now); err != nil {
			return err
		}
		_, err := tx.RevokeWebSessionsOfUser(ctx, u.ID, 0, now)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrResetInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("resetting the password of %s: %w", u.Name, err)
	}
	slog.Warn("password reset through a mailed link", "user", u.Name, "tokens_revoked", revoked, "client", clientString(from))
	r.users.notify(ctx, Event{Kind: EventPasswordReset, UserID: u.ID, Client: clientString(from),
		Detail: fmt.Sprintf("your password was reset with the link mailed to %s; %d API tokens were revoked", reset.Email, revoked)})
	return u, nil
}
