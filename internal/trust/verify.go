package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// Limits on the ID tokens an exchange accepts.
const (
	// MaxTokenBytes bounds an ID token (GitHub's are about 1.5 KB).
	MaxTokenBytes = 16 << 10
	// MaxTokenLifetime bounds exp - iat, and so how long a jti is kept.
	MaxTokenLifetime = 6 * time.Hour
	// discoveryRetry is how long a failed discovery is remembered before
	// it is tried again, so that a dead issuer is not asked per request.
	discoveryRetry = 10 * time.Second
	// discoveryTimeout bounds one discovery or key fetch.
	discoveryTimeout = 10 * time.Second
)

// signingAlgs are the algorithms accepted on ID tokens: asymmetric only.
var signingAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// An Issuer is a configured OIDC issuer ([trusted_publishing] issuers).
type Issuer struct {
	Name string // how publishers name it
	Kind Kind
	URL  string // its iss claim
}

// Claims are the verified claims of an ID token.
type Claims struct {
	Issuer   Issuer
	Subject  string
	JTI      string
	Expiry   time.Time
	IssuedAt time.Time
	all      map[string]any
}

// String returns the claim's value if it is a string, else "".
func (c *Claims) String(name string) string {
	s, _ := c.all[name].(string)
	return s
}

// A Verifier checks ID tokens of the configured issuers: signature
// (keys found by discovery, cached by go-oidc's RemoteKeySet, which
// fetches again for an unknown key id), issuer, audience, and exp, nbf
// and iat within the leeway. It keeps no state about tokens seen: replay
// protection is the database's (meta.Tx.UseJTI). Safe for concurrent use.
type Verifier struct {
	issuers map[string]Issuer // by URL
	leeway  time.Duration
	now     func() time.Time
	client  *http.Client

	mu        sync.Mutex
	providers map[string]*provider // by URL
}

type provider struct {
	p      *oidc.Provider
	err    error
	failed time.Time
}

// NewVerifier returns a verifier of the issuers' tokens. client fetches
// discovery documents and keys (nil: http.DefaultClient); now may be nil.
func NewVerifier(issuers []Issuer, leeway time.Duration, client *http.Client, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = http.DefaultClient
	}
	v := &Verifier{issuers: map[string]Issuer{}, leeway: leeway, now: now, client: client, providers: map[string]*provider{}}
	for _, is := range issuers {
		v.issuers[is.URL] = is
	}
	return v
}

// provider returns the issuer's provider, discovering it on first use.
func (v *Verifier) provider(ctx context.Context, is Issuer) (*oidc.Provider, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p := v.providers[is.URL]; p != nil {
		if p.p != nil || v.now().Sub(p.failed) < discoveryRetry {
			return p.p, p.err
		}
	}
	// The provider outlives the request: its key set is fetched later
	// with this context's client, never cancelled with the request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), is.URL)
	if err != nil {
		err = fmt.Errorf("discovering issuer %s (%s): %w", is.Name, is.URL, err)
		v.providers[is.URL] = &provider{err: err, failed: v.now()}
		return nil, err
	}
	v.providers[is.URL] = &provider{p: p}
	return p, nil
}

// A TokenError is a refusal of an ID token, with the code PyPI's
// exchange reports (invalid-token, invalid-publisher, invalid-reuse-token,
// invalid-payload). It wraps ErrExchange.
type TokenError struct {
	Code string
	Msg  string
}

func (e *TokenError) Error() string { return e.Msg }
func (e *TokenError) Unwrap() error { return ErrExchange }

func invalid(format string, args ...any) error {
	return &TokenError{Code: "invalid-token", Msg: fmt.Sprintf(format, args...)}
}

// Verify checks the ID token raw for the audience and returns its claims.
// Every refusal is a *TokenError; a failure to reach the issuer is not.
func (v *Verifier) Verify(ctx context.Context, raw, audience string) (*Claims, error) {
	if len(raw) > MaxTokenBytes {
		return nil, invalid("the ID token is longer than %d bytes", MaxTokenBytes)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA})
	if err != nil {
		return nil, invalid("the ID token is not a signed JWT with an asymmetric algorithm: %v", err)
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return nil, invalid("the ID token's claims are not a JSON object: %v", err)
	}
	is, ok := v.issuers[unverified.Iss]
	if !ok {
		return nil, invalid("the ID token's issuer %q is not trusted by this registry (trusted_publishing.issuers)", unverified.Iss)
	}
	p, err := v.provider(ctx, is)
	if err != nil {
		return nil, err
	}
	tok, err := p.Verifier(&oidc.Config{ClientID: audience, SkipExpiryCheck: true, SupportedSigningAlgs: signingAlgs}).Verify(ctx, raw)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		msg := strings.TrimPrefix(err.Error(), "oidc: ")
		if strings.Contains(msg, "expected audience") {
			msg = fmt.Sprintf("the ID token is not for this registry: its audience must be %q (%s)", audience, msg)
		}
		return nil, invalid("the ID token was refused: %s", msg)
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return nil, invalid("the ID token's claims: %v", err)
	}
	c := &Claims{Issuer: is, Subject: tok.Subject, Expiry: tok.Expiry, IssuedAt: tok.IssuedAt, all: all}
	c.JTI, _ = all["jti"].(string)
	now := v.now()
	nbf, hasNBF := numericDate(all["nbf"])
	switch {
	case c.Expiry.IsZero():
		return nil, invalid("the ID token has no expiry (exp)")
	case c.IssuedAt.IsZero():
		return nil, invalid("the ID token has no issue time (iat)")
	case c.JTI == "" || len(c.JTI) > 256:
		return nil, invalid("the ID token has no token id (jti) of at most 256 bytes: without one its reuse cannot be refused")
	case !now.Before(c.Expiry.Add(v.leeway)):
		return nil, invalid("the ID token expired at %s", c.Expiry.UTC().Format(time.RFC3339))
	case hasNBF && now.Add(v.leeway).Before(nbf):
		return nil, invalid("the ID token is not valid before %s", nbf.UTC().Format(time.RFC3339))
	case now.Add(v.leeway).Before(c.IssuedAt):
		return nil, invalid("the ID token was issued in the future (%s): check the clocks", c.IssuedAt.UTC().Format(time.RFC3339))
	case c.Expiry.Sub(c.IssuedAt) > MaxTokenLifetime:
		return nil, invalid("the ID token lives longer than %s", MaxTokenLifetime)
	}
	return c, nil
}

// numericDate reads a JWT NumericDate claim.
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// trusted reports whether the issuer named name is configured.
func (v *Verifier) issuer(name string) (Issuer, bool) {
	for _, is := range v.issuers {
		if is.Name == name {
			return is, true
		}
	}
	return Issuer{}, false
}

// names returns the configured issuers' names, sorted.
func (v *Verifier) names() []string {
	var out []string
	for _, is := range v.issuers {
		out = append(out, is.Name)
	}
	slices.Sort(out)
	return out
}
