package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// TLS configures how trove serve speaks https (docs/tls.md).
type TLS struct {
	// Mode is where the certificate comes from: "off" (plain HTTP),
	// "files" (CertFile and KeyFile), "self-signed" (a local CA under
	// <data_dir>/tls, for trials) or "acme" (an ACME server). Empty: files
	// if CertFile is set, else off.
	Mode string `toml:"mode"`
	// CertFile is the PEM certificate chain, leaf first; KeyFile its
	// private key. Both are read again when they change and on SIGHUP.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// HSTSMaxAge is the max-age of the Strict-Transport-Security header
	// sent on responses served over https (directly, or through a trusted
	// proxy that says X-Forwarded-Proto: https); 0 sends none.
	HSTSMaxAge Duration `toml:"hsts_max_age"`
	// ACME configures mode "acme".
	ACME ACME `toml:"acme"`
	// AllowPlainHTTP lets mode "off" listen on an address other machines
	// can reach, with no TLS-terminating proxy in connections.trusted_proxies.
	// Off by default: clients elsewhere would then fetch packages (and
	// their integrity data) over plain HTTP, where anyone on the path can
	// change them (SCVS-4.15).
	AllowPlainHTTP bool `toml:"allow_plain_http"`
}

// ACME configures certificates from an ACME server (RFC 8555).
type ACME struct {
	// DirectoryURL is the ACME server's directory URL.
	DirectoryURL string `toml:"directory_url"`
	// Email is the account's contact address.
	Email string `toml:"email"`
	// Domains are the host names to obtain certificates for.
	Domains []string `toml:"domains"`
	// CacheDir keeps the account key and certificates. Default:
	// <data_dir>/tls/acme.
	CacheDir string `toml:"cache_dir"`
	// CAFile holds the certificates (PEM) that verify the ACME server
	// itself, for a private or test ACME server; empty: the system's.
	CAFile string `toml:"ca_file"`
}

// The TLS modes.
const (
	TLSOff        = "off"
	TLSFiles      = "files"
	TLSSelfSigned = "self-signed"
	TLSACME       = "acme"
)

// DefaultHSTSMaxAge is the default of tls.hsts_max_age: a year.
const DefaultHSTSMaxAge = 365 * Day

// TLSDir holds the local CA of mode self-signed and, by default, the
// ACME cache.
func (c *Config) TLSDir() string { return filepath.Join(c.DataDir, "tls") }

// TLSMode returns the TLS mode, with an empty Mode resolved.
func (c *Config) TLSMode() string {
	switch {
	case c.TLS.Mode != "":
		return c.TLS.Mode
	case c.TLS.CertFile != "":
		return TLSFiles
	}
	return TLSOff
}

// finishTLS fills the TLS settings derived from others, and returns the
// scheme and default host of the base URL.
func (c *Config) finishTLS() (scheme, host string) {
	mode := c.TLSMode()
	if mode == TLSACME && c.TLS.ACME.CacheDir == "" {
		c.TLS.ACME.CacheDir = filepath.Join(c.TLSDir(), "acme")
	}
	switch mode {
	case TLSOff:
		return "http", c.Listen
	case TLSACME:
		if len(c.TLS.ACME.Domains) > 0 {
			host = c.TLS.ACME.Domains[0]
			if _, port, err := net.SplitHostPort(c.Listen); err == nil && port != "443" {
				host = net.JoinHostPort(host, port)
			}
			return "https", host
		}
	}
	return "https", c.Listen
}

// validateTLS checks the [tls] settings.
func (c *Config) validateTLS() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	t := c.TLS
	mode := c.TLSMode()
	switch mode {
	case TLSOff, TLSSelfSigned, TLSACME:
		if t.CertFile != "" || t.KeyFile != "" {
			bad("tls: cert_file and key_file are for mode %q, not %q (leave mode empty or set it to %q)", TLSFiles, mode, TLSFiles)
		}
	case TLSFiles:
		if t.CertFile == "" || t.KeyFile == "" {
			bad("tls: mode %q needs both cert_file and key_file (PEM files)", TLSFiles)
		}
	default:
		bad("tls.mode: %q is not off, files, self-signed or acme", t.Mode)
	}
	if t.HSTSMaxAge < 0 {
		bad("tls.hsts_max_age: must not be negative (0 sends no Strict-Transport-Security)")
	}
	if mode == TLSACME {
		errs = append(errs, c.validateACME()...)
	} else if t.ACME.DirectoryURL != "" || len(t.ACME.Domains) > 0 {
		bad("tls.acme: set, but tls.mode is %q, not %q", mode, TLSACME)
	}
	if mode == TLSOff && !t.AllowPlainHTTP && len(c.Connections.TrustedProxies) == 0 && !loopbackListen(c.Listen) {
		bad("listen: %q is reachable from other machines, but TLS is off: clients there would fetch packages in the clear; "+
			"turn TLS on (tls.mode = \"files\", \"acme\" or \"self-signed\"), or put a TLS-terminating proxy in front and list it in "+
			"connections.trusted_proxies, or accept the risk with tls.allow_plain_http = true", c.Listen)
	}
	if mode != TLSOff && strings.HasPrefix(c.BaseURL, "http://") {
		bad("base_url: %q starts with http:// but tls.mode is %q: clients would be sent to plain HTTP; use https://", c.BaseURL, mode)
	}
	return errs
}

func (c *Config) validateACME() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	a := c.TLS.ACME
	if u, err := url.Parse(a.DirectoryURL); a.DirectoryURL == "" || err != nil || u.Scheme != "https" || u.Host == "" {
		bad("tls.acme.directory_url: %q is not the https URL of an ACME directory (your certificate authority documents it)", a.DirectoryURL)
	}
	if len(a.Domains) == 0 {
		bad("tls.acme.domains: required: the host names to obtain certificates for, as [\"registry.example.com\"]")
	}
	for _, d := range a.Domains {
		if net.ParseIP(d) != nil || !strings.Contains(strings.Trim(d, "."), ".") || strings.ContainsAny(d, "/:* ") {
			bad("tls.acme.domains: %q is not a fully qualified host name (IP addresses and wildcards are not supported)", d)
		}
	}
	if a.Email != "" && !strings.Contains(a.Email, "@") {
		bad("tls.acme.email: %q is not an email address", a.Email)
	}
	return errs
}

// HSTS returns the configured max-age of Strict-Transport-Security.
func (c *Config) HSTS() time.Duration { return c.TLS.HSTSMaxAge.Std() }

// loopbackListen reports whether a listen address only accepts
// connections from this machine.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	return err == nil && host != "" && isLoopbackHost(host)
}
