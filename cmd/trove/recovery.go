package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/registry"
)

// wireRecovery sets up the breached-password check and the email domain
// checks ([accounts] breached_passwords_url or breached_passwords_file,
// dns_server).
func wireRecovery(c *config.Config, s *stack) error {
	if err := setBreaches(c, s.users); err != nil {
		return err
	}
	if c.Accounts.BreachedPasswordsURL == "" && c.Accounts.BreachedPasswordsFile == "" {
		slog.Warn("no breached-password corpus: passwords are not checked against known breaches (OSSF-AUTHN-2.4); " +
			"set accounts.breached_passwords_url or accounts.breached_passwords_file")
	}
	r, err := account.NewResolver(c.Accounts.DNSServer)
	if err != nil {
		return err
	}
	s.domains = account.NewDomains(s.db, account.NewDomainChecker(r), nil)
	return nil
}

// setBreaches gives users the configured breached-password corpus, if any.
func setBreaches(c *config.Config, users *account.Users) error {
	switch {
	case c.Accounts.BreachedPasswordsURL != "":
		b, err := account.NewRangeBreaches(c.Accounts.BreachedPasswordsURL, nil)
		if err != nil {
			return err
		}
		users.SetBreaches(b)
	case c.Accounts.BreachedPasswordsFile != "":
		b, err := account.OpenFileBreaches(c.Accounts.BreachedPasswordsFile)
		if err != nil {
			return err
		}
		users.SetBreaches(b) // open for the life of the process
	}
	return nil
}

// domainJob re-checks the email domains in use every
// accounts.domain_recheck, on one replica at a time.
func domainJob(c *config.Config, s *stack) registry.Job {
	every := c.Accounts.DomainRecheck.Std()
	// Run often, check only what is due: a new account's domain is
	// checked within a day.
	return registry.Job{Name: "email-domains", Every: min(every, 24*time.Hour), Run: func(ctx context.Context) error {
		n, err := s.domains.RecheckDue(ctx, every)
		if n > 0 {
			slog.Info("checked email domains", "checked", n)
		}
		return err
	}}
}

// outboxMailer queues account mail (password reset links) in the
// durable outbox.
type outboxMailer struct{ o *mail.Outbox }

func (m outboxMailer) Send(ctx context.Context, a account.Mail) error {
	return m.o.Enqueue(ctx, nil, mail.Message{To: a.To, Subject: a.Subject, Body: a.Text, Kind: "password-reset-link"})
}

// newResets runs password resets by email through the outbox, for
// verified addresses on domains that are alive; nil (no reset by email:
// the pages say so) while no mail server is configured, since a link
// left in the outbox would only tell the requester to wait.
func newResets(c *config.Config, s *stack) *account.Resets {
	if !c.Mail.Enabled() {
		return nil
	}
	return account.NewResets(s.users, s.domains, outboxMailer{s.mail.outbox}, resetLink(c))
}
