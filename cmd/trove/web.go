package main

import (
	"net/http"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/web"
)

// newWeb builds the web interface over the wired services.
func newWeb(c *config.Config, s *stack, mounts []server.Mount, writable func() error, limit func(*http.Request, bool, bool) error) (*web.Handler, error) {
	s.sessions = account.NewSessions(s.db, nil)
	s.sessions.SetLimits(account.SessionLimits{Lifetime: c.Web.SessionLifetime.Std(), Idle: c.Web.SessionIdle.Std(), Sudo: c.Web.Sudo.Std()})
	// Where each ecosystem's clients install from: its own mount, which
	// comes first; its later ones (the trusted publishing exchanges at
	// the host's root) are not.
	ecos := make(map[string]string)
	for _, m := range mounts {
		if _, ok := ecos[m.Ecosystem]; !ok {
			ecos[m.Ecosystem] = m.Prefix
		}
	}
	return web.New(web.Options{
		BaseURL:    c.BaseURL,
		HTTPSURL:   httpsURL(c),
		Serves:     server.Served(mounts),
		Ecosystems: ecos,
		Patterns:   s.registry.ParsePattern,
		Users:      s.users,
		Sessions:   s.sessions,
		Tokens:     s.tokens,
		Logins:     s.logins,
		NPMOTPs:    s.npmOTPs,
		Events:     s.mail.notes,
		AllEvents:  s.mail.notes,
		Deletions:  account.NewDeletions(s.db, s.mail.notes, s.registry, s.tokens, nil),
		Notifier:   s.mail.notes,
		Verify:     s.mail.verify,
		Signup:     c.Accounts.SignupMode(),
		MFA:        s.factors,
		Resets:     newResets(c, s),
		Writable:   writable,
		Limit:      limit,
		Registry:   s.registry,
		Pages:      s.pages,
		Proofs:     s.logServer,
		Audit:      s.audit,
		AuditLog:   s.db,
	})
}
