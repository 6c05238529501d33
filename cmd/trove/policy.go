package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
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

// tokenLevel is the level of a token the operator mints for u from the
// command line: AuthPassword (the operator vouches for the account, as a
// password would), or AuthMFA when otp is a fresh code of one of u's TOTP
// authenticators (checked with replay refusal and the MFA attempt budget).
// Never AuthPhishingResistant: no security key signs anything here.
func tokenLevel(ctx context.Context, c *config.Config, db *meta.DB, u *trove.User, otp string) (trove.AuthLevel, error) {
	if otp == "" {
		return trove.AuthPassword, nil
	}
	f, err := openFactors(ctx, c, db, nil)
	if err != nil {
		return trove.AuthNone, err
	}
	switch has, err := f.HasTOTP(ctx, u.ID); {
	case err != nil:
		return trove.AuthNone, err
	case !has:
		return trove.AuthNone, hinted{fmt.Errorf("%s has no TOTP authenticator to check --otp against", u.Name),
			"enrol one with: trove account totp enroll --user " + u.Name + " (or the user adds one on their security page)"}
	}
	err = f.VerifyTOTP(ctx, u.ID, otp, netip.Addr{})
	switch {
	case errors.Is(err, account.ErrBadCode):
		return trove.AuthNone, hinted{fmt.Errorf("--otp: %w; no token was created", err), "give the code the authenticator shows now; each code is accepted once"}
	case err != nil:
		return trove.AuthNone, fmt.Errorf("--otp: %w; no token was created", err)
	}
	return trove.AuthMFA, nil
}
