// Package access decides who may do what: API tokens (their format, storage
// and scopes), principals, and the one authorization rule, [Authorize].
//
// # Invariants
//
//   - A token secret is shown once, at creation, and never stored: the
//     database holds only its SHA-256 ([HashToken]).
//   - Checking a token costs one SHA-256 and, on a cache miss, one indexed
//     lookup; never a password hash.
//   - Every mutating operation calls Authorize, which requires both the
//     token's scope and the user's role on the package.
package access

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/trove-dev/trove/internal/trove"
)

// Errors callers branch on.
var (
	// ErrUnauthenticated reports missing, malformed, unknown, expired or
	// revoked credentials.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrDenied reports valid credentials that do not allow the action.
	ErrDenied = errors.New("permission denied")
)

// A Principal is an authenticated user and what the credentials used allow.
type Principal struct {
	UserID   int64
	UserName string
	Email    string
	Admin    bool
	// TokenID identifies the API token the request presented.
	TokenID       int64
	TokenPublicID string
	tokenHash     string         // HashToken of the token presented
	cidrs         []netip.Prefix // the token's address allow-list
	// Packages and Actions are the token's scope.
	Packages []Pattern
	Actions  []Action
	// Level is how strongly the user had authenticated when the token was
	// minted, or, for one request, the stronger proof it carried (an npm
	// one-time password: see Raised).
	Level trove.AuthLevel
	// PublisherID is the trusted publisher that minted the token (0: a
	// person made it); such a token is scoped to one package and publish.
	PublisherID int64
	// MustChangePassword is set while the user must change their password
	// (it was found in known breaches at sign-in, or an administrator
	// forced a reset): nothing but reading is allowed until it changes.
	MustChangePassword bool
}

// Raised returns a copy of p whose level is at least l: for the one
// request that proved a second factor itself. p itself is not changed (it
// may be cached and shared).
func (p *Principal) Raised(l trove.AuthLevel) *Principal {
	if p == nil || p.Level.Meets(l) {
		return p
	}
	c := *p
	c.Level = l
	return &c
}

// MustChangePasswordError is the refusal of a change by a user who must
// change their password first.
func MustChangePasswordError(user string) error {
	return fmt.Errorf("%w: user %s must change their password (it appears in known data breaches, or an administrator asked for a new one): "+
		"sign in on the web and change it on your account's password page, or use \"Forgot password\", before creating tokens or publishing", ErrDenied, user)
}

// Allows reports whether the principal's scope covers action a on the
// package (ecosystem, key), key being its name folded by the ecosystem's
// Namer. Roles are not considered; see Authorize.
func (p *Principal) Allows(a Action, ecosystem trove.Ecosystem, key trove.Name) bool {
	if p == nil || !covers(p.Actions, a) {
		return false
	}
	for _, pat := range p.Packages {
		if pat.Match(ecosystem, key) {
			return true
		}
	}
	return false
}

// Presented reports whether token (a secret or a public id) is the token
// the principal presented: any token may revoke itself.
func (p *Principal) Presented(token string) bool {
	if p == nil || p.tokenHash == "" {
		return false
	}
	return token == p.TokenPublicID || subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(p.tokenHash)) == 1
}

// Can reports whether the principal's token carries the action, whatever
// the package (for actions on the account, such as Tokens).
func (p *Principal) Can(a Action) bool {
	return p != nil && slices.Contains(p.Actions, a)
}

// CheckManageTokens returns nil if the principal may list, create and
// revoke the user's tokens: its token must carry the ManageTokens action.
func (p *Principal) CheckManageTokens() error {
	switch {
	case p == nil:
		return fmt.Errorf("%w: managing tokens needs a sign-in", ErrUnauthenticated)
	case !p.Can(ManageTokens):
		return fmt.Errorf("%w: this token cannot manage tokens (it lacks the tokens action): sign in again with your password, or use a token created with --action tokens", ErrDenied)
	}
	return nil
}

// CheckAdmin returns nil if the principal may change the registry's own
// settings (upstream exceptions, curation): an administrator whose token
// carries the given action on every package.
func (p *Principal) CheckAdmin(a Action) error {
	switch {
	case p == nil:
		return fmt.Errorf("%w: this needs an administrator's token", ErrUnauthenticated)
	case !p.Admin:
		return fmt.Errorf("%w: only administrators may do this", ErrDenied)
	case !p.Can(a) || !slices.Contains(p.Packages, Pattern("*")):
		return fmt.Errorf("%w: this token lacks the %s action on every package", ErrDenied, a)
	}
	return nil
}

// A Resource is a package an action is about, with the facts about it
// that authorization needs.
type Resource struct {
	Ecosystem trove.Ecosystem
	Name      trove.Name // folded by the ecosystem's Namer
	// Exists is false when the action would create the package.
	Exists bool
	// Role is the principal's user's role on the package (see [Role]):
	// the strongest of their own grant, their teams' grants and their
	// membership of the package's organisation.
	Role Role
	// Needs is the level the package's policy asks of the credentials
	// that change it (see registry's MFA policy); AuthNone asks nothing.
	Needs trove.AuthLevel
	// Critical reports whether Needs comes from the package being
	// critical, for the refusal's message.
	Critical bool
	// TrustedOnly is the package's "trusted publishing only" switch:
	// publishing needs a token minted by a trusted publisher.
	TrustedOnly bool
}

// A LevelError is a refusal of credentials minted after a weaker sign-in
// than the package's policy asks. It wraps ErrDenied.
type LevelError struct {
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Have      trove.AuthLevel // the credentials' level
	Need      trove.AuthLevel // the package's
	Critical  bool            // the package is critical
	// Security is where users add factors (a URL), for the message; "" if
	// unknown.
	Security string
}

func (e *LevelError) Error() string {
	why := "the registry's policy"
	if e.Critical {
		why = "it is a critical package"
	}
	where := "in your account's security settings"
	if e.Security != "" {
		where = "at " + e.Security
	}
	var how string
	switch e.Need {
	case trove.AuthPhishingResistant:
		how = fmt.Sprintf("a token minted after signing in with a security key or passkey: add one %s, sign in with it and create a new token", where)
	case trove.AuthMFA:
		how = fmt.Sprintf("a token minted after signing in with a second factor: add an authenticator app or a security key %s, sign in with it and create a new token (npm also accepts a one-time password: answer its prompt or pass --otp)", where)
	default:
		how = "a token minted after signing in with your password: create a new token"
	}
	return fmt.Sprintf("%s: changing %s:%s needs %s sign-in (%s), and this token was minted after %s sign-in; use %s",
		ErrDenied, e.Ecosystem, e.Name, levelWords(e.Need), why, levelWords(e.Have), how)
}

// levelWords names a level in a sentence.
func levelWords(l trove.AuthLevel) string {
	switch l {
	case trove.AuthPassword:
		return "a password-only"
	case trove.AuthMFA:
		return "a second-factor"
	case trove.AuthPhishingResistant:
		return "a phishing-resistant (security key or passkey)"
	}
	return "an unrecorded (older token)"
}

func (e *LevelError) Unwrap() error { return ErrDenied }

// Authorize returns nil if p may take action a on r, or an error wrapping
// ErrUnauthenticated or ErrDenied that says why.
//
// The rule: reading a public package needs nothing. Reading a private
// one (ReadPrivate) needs credentials whose scope carries read-private on
// it and the reader role or stronger (or an administrator). Any other
// action needs credentials whose scope covers the action on the package,
// and then either a new package (PublishNew: its first publisher becomes
// its owner, or its organisation owns it), the role the action needs on
// the package ([Action.Needs]: a maintainer publishes, only an owner
// changes owners), or an administrator account; and credentials whose level
// meets what the package needs (a *LevelError otherwise). Publish asks for
// PublishNew or PublishUpdate, as the package does not or does exist.
// A package that takes trusted publishing only is published only with
// tokens its trusted publishers minted.
func Authorize(p *Principal, a Action, r Resource) error {
	if err := authorize(p, a, r); err != nil || a == Read || a == ReadPrivate {
		return err
	}
	if (a == Publish || a == PublishNew || a == PublishUpdate) && r.TrustedOnly && p.PublisherID == 0 {
		return fmt.Errorf("%w: %s:%s takes trusted publishing only: publish it from its CI workflow, whose OIDC token is exchanged for a short-lived token "+
			"(see docs/trusted-publishing.md); an owner may turn this off with: trove package trusted-only %[2]s %[3]s off", ErrDenied, r.Ecosystem, r.Name)
	}
	if !p.Level.Meets(r.Needs) {
		return &LevelError{Ecosystem: r.Ecosystem, Name: r.Name, Have: p.Level, Need: r.Needs, Critical: r.Critical}
	}
	return nil
}

func authorize(p *Principal, a Action, r Resource) error {
	if a == Read {
		return nil
	}
	if a == Publish {
		a = PublishNew
		if r.Exists {
			a = PublishUpdate
		}
	}
	if p == nil {
		return fmt.Errorf("%w: %s %s:%s needs an API token", ErrUnauthenticated, a, r.Ecosystem, r.Name)
	}
	if p.MustChangePassword && a != ReadPrivate {
		return MustChangePasswordError(p.UserName)
	}
	if !p.Allows(a, r.Ecosystem, r.Name) {
		hint := ""
		if a == Owners && p.Allows(Publish, r.Ecosystem, r.Name) {
			hint = " (changing owners and settings needs the owners action, which publish does not carry: sign in again with npm login or trove login, or create a token with --action owners)"
		}
		return fmt.Errorf("%w: this token's scope does not allow %s on %s:%s%s", ErrDenied, a, r.Ecosystem, r.Name, hint)
	}
	need := a.Needs()
	switch {
	case !r.Exists && a == PublishNew:
		return nil
	case !r.Exists:
		return fmt.Errorf("%w: %s %s:%s needs an existing package", ErrDenied, a, r.Ecosystem, r.Name)
	case r.Role >= need, p.Admin:
		return nil
	case r.Role == NoRole:
		return fmt.Errorf("%w: user %s is not an owner of %s:%s", ErrDenied, p.UserName, r.Ecosystem, r.Name)
	}
	return fmt.Errorf("%w: user %s is a %s of %s:%s, and %s needs the %s role: ask an owner", ErrDenied, p.UserName, r.Role, r.Ecosystem, r.Name, a, need)
}

type principalKey struct{}

// WithPrincipal returns a context carrying the request's principal.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// InRequest reports whether ctx belongs to a request served to a client:
// WithPrincipal was called on it, even with nil for an anonymous caller.
// A context without it is the operator's (the command line on the data
// directory, background jobs), which reads private packages too.
func InRequest(ctx context.Context) bool {
	_, ok := ctx.Value(principalKey{}).(*Principal)
	return ok
}

// PrincipalFrom returns the request's principal, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
