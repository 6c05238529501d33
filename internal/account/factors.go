package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Second factors
//
// A user may hold several second factors: TOTP authenticators
// (totp.go), WebAuthn security keys and passkeys (webauthn.go), and, once
// they have one, ten single-use recovery codes (recovery.go).
//
// # Invariants
//
//   - TOTP secrets are stored only sealed (AES-256-GCM, factorkey.go) under
//     a key kept outside the database; the user id is the additional data,
//     so a sealed secret moved to another user's row does not open.
//   - A TOTP code is accepted at most once: each factor remembers the last
//     time step accepted, raised by a compare-and-swap.
//   - Code guessing (TOTP and recovery codes) is bounded per user and per
//     client address ([MaxFactorFailures], [MaxFactorAddrFailures]),
//     counted before any code is checked; the failure that spends a
//     user's budget is an EventLockout.
//   - A WebAuthn credential whose sign count goes backwards (a cloned
//     authenticator) is refused from then on, and the owner is told.
//   - Every change of a user's factors is an Event through the Notifier.

// Errors callers of Factors branch on.
var (
	// ErrBadCode reports a wrong, expired or replayed TOTP or recovery code.
	ErrBadCode = errors.New("wrong or already used code")
	// ErrNoFactor reports a factor that does not exist (or is not the user's).
	ErrNoFactor = errors.New("no such second factor")
	// ErrWebAuthn reports a WebAuthn ceremony that failed: an unknown,
	// expired or reused ceremony, or a response that does not verify.
	ErrWebAuthn = errors.New("security key check failed")
	// ErrClonedKey reports a WebAuthn credential whose sign count went
	// backwards: it may have been copied, and is refused.
	ErrClonedKey = errors.New("security key refused: it may have been cloned")
)

// EventCloneWarning is recorded when a security key's sign count goes
// backwards: the key may have been copied, and is refused until removed.
const EventCloneWarning EventKind = "security-key-clone-warning"

// MaxFactorName bounds the label of a factor.
const MaxFactorName = 64

// A Factor is one of a user's second factors, as lists show it.
type Factor struct {
	ID         int64
	Kind       string // meta.FactorTOTP or meta.FactorWebAuthn
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// Passkey is true for a WebAuthn credential stored on the
	// authenticator (discoverable), which can sign in without a password.
	Passkey bool
	// CloneWarning is true for a WebAuthn credential refused because its
	// sign count went backwards.
	CloneWarning bool
}

// FactorsConfig configures Factors.
type FactorsConfig struct {
	// Key seals TOTP secrets: 32 bytes (LoadOrCreateFactorKey).
	Key []byte
	// BaseURL is the server's public URL: its host is the WebAuthn
	// relying party id and its origin the only origin accepted. A base
	// URL whose host is an IP address leaves WebAuthn unavailable.
	BaseURL string
	// Notifier is told of every change; nil records nothing.
	Notifier Notifier
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Factors manages users' second factors. It is safe for concurrent use.
type Factors struct {
	db     *meta.DB
	seal   *sealer
	rp     *webauthn.WebAuthn // nil: WebAuthn unavailable (rpErr says why)
	rpErr  error
	notify Notifier
	now    func() time.Time
}

// NewFactors returns the factor service over db.
func NewFactors(db *meta.DB, c FactorsConfig) (*Factors, error) {
	s, err := newSealer(c.Key)
	if err != nil {
		return nil, err
	}
	f := &Factors{db: db, seal: s, notify: c.Notifier, now: c.Now}
	if f.now == nil {
		f.now = time.Now
	}
	f.rp, f.rpErr = newRelyingParty(c.BaseURL)
	return f, nil
}

// newRelyingParty configures WebAuthn for the base URL. WebAuthn needs a
// host name: a base URL on a loopback address (the default of a server
// listening on 127.0.0.1) is served as http://localhost:PORT, which
// browsers treat as secure too; any other address leaves WebAuthn off.
func newRelyingParty(base string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: base_url %q is not an absolute URL", ErrWebAuthn, base)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: security keys need base_url to name the server by a host name, not the address %s", ErrWebAuthn, host)
		}
		host = "localhost"
		if u.Port() != "" {
			u.Host = "localhost:" + u.Port()
		} else {
			u.Host = host
		}
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: "Trove",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: configuring the relying party %s: %v", ErrWebAuthn, host, err)
	}
	return rp, nil
}

// event tells the Notifier; a failure is logged, not returned: the change
// itself is made.
func (f *Factors) event(ctx context.Context, kind EventKind, userID int64, client, format string, args ...any) {
	if f.notify == nil {
		return
	}
	e := Event{Kind: kind, UserID: userID, Detail: fmt.Sprintf(format, args...), Client: client, At: f.now().UTC()}
	if err := f.notify.Notify(ctx, e); err != nil {
		slog.Error("recording a security event", "kind", string(kind), "user_id", userID, "err", err)
	}
}

// checkFactorName validates a factor's label.
func checkFactorName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxFactorName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%w: a factor's name must be 1 to %d printable characters", ErrInvalid, MaxFactorName)
	}
	return name, nil
}

// List returns the user's confirmed factors, oldest first.
func (f *Factors) List(ctx context.Context, userID int64) ([]Factor, error) {
	fs, err := f.db.Factors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("listing factors: %w", err)
	}
	out := make([]Factor, 0, len(fs))
	for _, m := range fs {
		out = append(out, factorOf(m))
	}
	return out, nil
}

func factorOf(m *meta.Factor) Factor {
	f := Factor{ID: m.ID, Kind: m.Kind, Name: m.Name, CreatedAt: m.CreatedAt, LastUsedAt: m.LastUsedAt, CloneWarning: m.CloneWarning}
	if m.Kind == meta.FactorWebAuthn {
		if c, err := credentialOf(m); err == nil {
			f.Passkey = c.Flags.BackupEligible || residentHint(c)
		}
	}
	return f
}

// HasTOTP reports whether the user has a confirmed TOTP factor.
func (f *Factors) HasTOTP(ctx context.Context, userID int64) (bool, error) {
	fs, err := f.db.Factors(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("listing factors: %w", err)
	}
	for _, m := range fs {
		if m.Kind == meta.FactorTOTP {
			return true, nil
		}
	}
	return false, nil
}

// Strongest returns the strongest level the user can reach: AuthPassword
// with no factor, AuthMFA with TOTP only, AuthPhishingResistant with a
// WebAuthn credential (one refused for a clone warning does not count).
func (f *Factors) Strongest(ctx context.Context, userID int64) (trove.AuthLevel, error) {
	fs, err := f.db.Factors(ctx, userID)
	if err != nil {
		return trove.AuthNone, fmt.Errorf("listing factors: %w", err)
	}
	level := trove.AuthPassword
	for _, m := range fs {
		switch {
		case m.Kind == meta.FactorWebAuthn && !m.CloneWarning:
			return trove.AuthPhishingResistant, nil
		case m.Kind == meta.FactorTOTP:
			level = trove.AuthMFA
		}
	}
	return level, nil
}

// Rename changes the label of the user's factor.
func (f *Factors) Rename(ctx context.Context, userID, id int64, name string) error {
	name, err := checkFactorName(name)
	if err != nil {
		return err
	}
	err = f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.RenameFactor(ctx, userID, id, name) })
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("%w: %d", ErrNoFactor, id)
	}
	return err
}

// Remove deletes the user's factor and returns how many remain. Callers
// ask for recent re-authentication (sudo mode) first. Removing the last
// factor also deletes the recovery codes, which are only a stand-in for a
// factor: the account is then protected by its password alone, and
// publishing where a second factor is required needs a new one.
func (f *Factors) Remove(ctx context.Context, userID, id int64, client string) (left int, err error) {
	m, left, err := f.remove(ctx, userID, id)
	if err != nil {
		return 0, err
	}
	f.event(ctx, EventFactorRemoved, userID, client, "%s %q", kindWords(m.Kind), m.Name)
	return left, nil
}

// AdminRemove is Remove done by an administrator for a user who lost
// their factors (administrator-assisted recovery): the owner is told both
// that a factor was removed and that an administrator did it.
func (f *Factors) AdminRemove(ctx context.Context, userID, id int64, admin string) (left int, err error) {
	m, left, err := f.remove(ctx, userID, id)
	if err != nil {
		return 0, err
	}
	slog.Warn("administrator removed a second factor", "user_id", userID, "factor_id", id, "kind", m.Kind, "by", admin)
	f.event(ctx, EventFactorRemoved, userID, admin, "%s %q, removed by an administrator", kindWords(m.Kind), m.Name)
	f.event(ctx, EventAdminRecovery, userID, admin, "an administrator removed your %s %q", kindWords(m.Kind), m.Name)
	return left, nil
}

func (f *Factors) remove(ctx context.Context, userID, id int64) (*meta.Factor, int, error) {
	var m *meta.Factor
	var left int
	err := f.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		if m, err = tx.Factor(ctx, userID, id); err != nil {
			return err
		}
		if err := tx.DeleteFactor(ctx, userID, id); err != nil {
			return err
		}
		rest, err := tx.Factors(ctx, userID)
		if err != nil {
			return err
		}
		if left = len(rest); left == 0 {
			return tx.DeleteRecoveryCodes(ctx, userID)
		}
		return nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: %d", ErrNoFactor, id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("removing factor %d: %w", id, err)
	}
	return m, left, nil
}

// kindWords names a factor kind for people.
func kindWords(kind string) string {
	if kind == meta.FactorTOTP {
		return "authenticator app"
	}
	return "security key"
}
