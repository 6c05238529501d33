package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
)

// Mail configures the SMTP server Trove sends its mail through (email
// verification, invitations, security notices, release notices). Without
// a host, mail still goes to the outbox, and serve warns that it is not
// being delivered.
type Mail struct {
	Host string `toml:"host"`
	// Port is the SMTP submission port (default 587).
	Port int `toml:"port"`
	// From is the sender, such as "Trove <trove@example.com>".
	From     string `toml:"from"`
	Username string `toml:"username"`
	// PasswordFile holds the SMTP password (never inline, never logged).
	PasswordFile string `toml:"password_file"`
	// TLS is "mandatory" (default: STARTTLS required), "opportunistic",
	// or "none" (only to a loopback host, such as a local relay).
	TLS     string   `toml:"tls"`
	Timeout Duration `toml:"timeout"`
	// PerRecipientHour bounds the mails of one kind to one address per
	// hour (default 10); more are dropped and logged.
	PerRecipientHour int `toml:"per_recipient_hour"`
}

// Enabled reports whether a mail server is configured.
func (m *Mail) Enabled() bool { return m.Host != "" }

// validate reports the problems of the mail settings.
func (m *Mail) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch m.TLS {
	case "mandatory", "opportunistic":
	case "none":
		if ip := net.ParseIP(m.Host); m.Host != "" && m.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			bad("mail.tls: \"none\" sends passwords and mail in clear text, so it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not %q; use \"mandatory\"", m.Host)
		}
	default:
		bad("mail.tls: %q is not mandatory, opportunistic or none", m.TLS)
	}
	if m.Port < 0 || m.Port > 65535 {
		bad("mail.port: %d is not a port number", m.Port)
	}
	if m.Timeout <= 0 {
		bad("mail.timeout: must be positive")
	}
	if m.PerRecipientHour < 1 {
		bad("mail.per_recipient_hour: must be at least 1")
	}
	if m.Host == "" {
		return errs
	}
	if a, err := mail.ParseAddress(m.From); m.From == "" || err != nil || a.Address == "" {
		bad("mail.from: %q is not an address like \"Trove <trove@example.com>\" (required with mail.host)", m.From)
	}
	if (m.Username == "") != (m.PasswordFile == "") {
		bad("mail: set both username and password_file, or neither")
	}
	return errs
}

// Password returns the contents of mail.password_file, trimmed, or "".
// Errors never show it.
func (m *Mail) Password() (string, error) {
	if m.PasswordFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(m.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("mail.password_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("mail.password_file: " + m.PasswordFile + " is empty")
	}
	return s, nil
}

// Sign-up modes of [accounts] signup.
const (
	SignupClosed = "closed" // administrators create accounts (default)
	SignupInvite = "invite" // administrators invite by email
	SignupOpen   = "open"   // anyone may sign up (npm adduser, the sign-up page)
)

// SignupMode returns the effective sign-up mode: accounts.signup, or
// "open" for the deprecated accounts.open_registration.
func (a *Accounts) SignupMode() string {
	if a.Signup == "" && a.OpenRegistration {
		return SignupOpen
	}
	if a.Signup == "" {
		return SignupClosed
	}
	return a.Signup
}

func (a *Accounts) validateSignup() []error {
	switch a.Signup {
	case "", SignupClosed, SignupInvite, SignupOpen:
	default:
		return []error{fmt.Errorf("accounts.signup: %q is not closed, invite or open", a.Signup)}
	}
	if a.OpenRegistration && a.Signup != "" && a.Signup != SignupOpen {
		return []error{fmt.Errorf("accounts.open_registration = true contradicts accounts.signup = %q: remove open_registration (deprecated)", a.Signup)}
	}
	return nil
}

// mailWarnings are what Warnings says about sign-up. (A server without
// mail.host is warned about by serve itself: it is a valid setup for
// commands.)
func (c *Config) mailWarnings() []string {
	var out []string
	if c.Accounts.OpenRegistration {
		out = append(out, "accounts.open_registration is deprecated: use accounts.signup = \"open\"")
	}
	return out
}
