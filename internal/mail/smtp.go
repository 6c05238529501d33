package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Config says how to reach the SMTP server (the [mail] settings).
type Config struct {
	Host string
	Port int
	// From is the sender address, such as "Trove <trove@example.com>".
	From     string
	Username string
	// Password is the SMTP password, read from mail.password_file; it is
	// never logged.
	Password string
	// TLS is "mandatory" (STARTTLS required), "opportunistic" (STARTTLS if
	// offered) or "none" (loopback servers only).
	TLS     string
	Timeout time.Duration
	// HELO is the name given to the server (default: localhost).
	HELO string
}

// SMTP sends messages to one SMTP server with go-mail.
type SMTP struct {
	c    Config
	opts []gomail.Option
}

// NewSMTP checks c and returns its sender.
func NewSMTP(c Config) (*SMTP, error) {
	if c.Host == "" || c.From == "" {
		return nil, errors.New("mail: host and from are required")
	}
	policy, err := tlsPolicy(c)
	if err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	helo := c.HELO
	if helo == "" {
		helo = "localhost"
	}
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(c.Timeout), gomail.WithHELO(helo)}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	return &SMTP{c: c, opts: opts}, nil
}

func tlsPolicy(c Config) (gomail.TLSPolicy, error) {
	switch c.TLS {
	case "", "mandatory":
		return gomail.TLSMandatory, nil
	case "opportunistic":
		return gomail.TLSOpportunistic, nil
	case "none":
		if !IsLoopback(c.Host) {
			return 0, fmt.Errorf("mail.tls = \"none\" is allowed only for a loopback host, not %q", c.Host)
		}
		return gomail.NoTLS, nil
	}
	return 0, fmt.Errorf("mail.tls: %q is not mandatory, opportunistic or none", c.TLS)
}

// IsLoopback reports whether host names this machine: localhost or a
// loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send sends m in its own SMTP session.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.c.From); err != nil {
		return fmt.Errorf("mail.from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	c, err := gomail.NewClient(s.c.Host, s.opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}
