package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// publishAuth returns the MFA policy's default level (config.Validate has
// checked it).
func publishAuth(c *config.Config) trove.AuthLevel {
	l, err := registry.ParseAuthLevel(c.Accounts.PublishAuth)
	if err != nil {
		return registry.DefaultPublishAuth
	}
	return l
}

// securityURL is the account page where users add second factors.
func securityURL(c *config.Config) string {
	if c.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(c.BaseURL, "/") + "/-/account/security"
}

// criticalNotice tells maintainers that their package became critical:
// an account.EventPackageCritical to each through n (recorded and
// mailed), and a line in the server's log. n may be nil (log only).
func criticalNotice(n account.Notifier) registry.Notice {
	return func(ctx context.Context, userIDs []int64, eco trove.Ecosystem, name trove.Name, why string) error {
		slog.Info("package became critical: changes now need a phishing-resistant sign-in", "ecosystem", eco, "package", name, "why", why)
		if n == nil {
			return nil
		}
		for _, id := range userIDs {
			err := n.Notify(ctx, account.Event{Kind: account.EventPackageCritical, UserID: id, At: time.Now().UTC(),
				Detail: string(eco) + " package " + string(name) + " became critical: " + why +
					"; publishing and changing its settings now need a token minted after signing in with a security key or passkey"})
			if err != nil {
				return err
			}
		}
		return nil
	}
}
