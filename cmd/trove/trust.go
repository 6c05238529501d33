package main

import (
	"net/url"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trust"
)

// newTrust returns the trusted publishing service of the configuration
// (off without issuers).
func newTrust(c *config.Config, db *meta.DB, reg *registry.Service, tokens *access.Tokens) *trust.Service {
	tp := c.TrustedPublishing
	var issuers []trust.Issuer
	for _, is := range tp.Issuers {
		issuers = append(issuers, trust.Issuer{Name: is.Name, Kind: trust.Kind(is.Kind), URL: is.URL})
	}
	return trust.New(trust.Options{DB: db, Registry: reg, Tokens: tokens, Issuers: issuers,
		Audience: trustAudience(c), Host: baseHost(c), Leeway: tp.Leeway.Std()})
}

// baseHost is the host name of base_url ("" without one).
func baseHost(c *config.Config) string {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// trustAudience is trusted_publishing.audience, by default the host name
// of base_url, or "trove" without one.
func trustAudience(c *config.Config) string {
	switch {
	case c.TrustedPublishing.Audience != "":
		return c.TrustedPublishing.Audience
	case baseHost(c) != "":
		return baseHost(c)
	}
	return "trove"
}
