package config

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// TrustedPublishing configures trusted publishing (docs/trusted-publishing.md):
// the OIDC issuers whose ID tokens CI jobs may exchange for short-lived
// publish tokens. Without issuers it is off.
type TrustedPublishing struct {
	// Audience is the aud claim ID tokens must carry for the PyPI and
	// generic exchanges; "" means the host of base_url (or "trove" without
	// one). npm's exchange asks for "npm:<host of base_url>", as npm does.
	Audience string `toml:"audience"`
	// Leeway is the clock skew allowed on exp, nbf and iat (default 60s).
	Leeway Duration `toml:"leeway"`
	// Issuers are the issuers publishers may name.
	Issuers []Issuer `toml:"issuers"`
}

// An Issuer is an OIDC issuer trusted publishers may name. Its URL is
// the iss claim of its tokens, where discovery
// (/.well-known/openid-configuration) and then its keys are fetched.
type Issuer struct {
	// Name is how publishers name it: "github", "gitlab", "ci".
	Name string `toml:"name"`
	// Kind says which claims its publishers check: github (GitHub
	// Actions), gitlab (GitLab CI) or generic (explicit claim rules).
	Kind string `toml:"kind"`
	URL  string `toml:"url"`
}

// Enabled reports whether any issuer is configured.
func (t *TrustedPublishing) Enabled() bool { return len(t.Issuers) > 0 }

var issuerName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// MaxLeeway bounds trusted_publishing.leeway.
const MaxLeeway = 5 * time.Minute

// validate reports the problems of the trusted publishing settings.
func (t *TrustedPublishing) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if t.Leeway < 0 || time.Duration(t.Leeway) > MaxLeeway {
		bad("trusted_publishing.leeway: %s is not between 0 and %s", t.Leeway, Duration(MaxLeeway))
	}
	seen := map[string]bool{}
	for i, is := range t.Issuers {
		switch {
		case !issuerName.MatchString(is.Name):
			bad("trusted_publishing.issuers[%d].name: %q is not a short lowercase name like github or gitlab", i, is.Name)
		case seen[is.Name]:
			bad("trusted_publishing.issuers[%d].name: %q is used twice", i, is.Name)
		}
		seen[is.Name] = true
		switch is.Kind {
		case "github", "gitlab", "generic":
		default:
			bad("trusted_publishing.issuers[%d].kind: %q is not github, gitlab or generic", i, is.Kind)
		}
		u, err := url.Parse(is.URL)
		switch {
		case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("trusted_publishing.issuers[%d].url: %q is not an issuer URL like https://issuer.example (the tokens' iss claim)", i, is.URL)
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		default:
			bad("trusted_publishing.issuers[%d].url: %q must use https (http only on a loopback host, for tests)", i, is.URL)
		}
	}
	return errs
}
