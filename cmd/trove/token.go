package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
)

func newToken(g *globals) *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (works on the data directory)"}
	tok.AddCommand(newTokenCreate(g), newTokenList(g), newTokenRevoke(g))
	return tok
}

func newTokenCreate(g *globals) *cobra.Command {
	var user, description, expires, otp string
	var scopes, actions []string
	create := &cobra.Command{
		Use:   "create --user NAME --scope PATTERN [--action ACTION] [--expires 30d] [--otp CODE]",
		Short: "Create an API token and print it (only the token, on standard output)",
		Long: `Create an API token and print it on standard output. The token is shown once and
stored only as a hash.

--scope selects packages, as ECOSYSTEM:NAME where NAME may contain * (npm:@acme/*,
pypi:demo, npm:*), or * for every package; repeat it for several.
--action is read, publish (new packages and new versions: publish-new and
publish-update are one of each), yank (also deprecate and unpublish), owners
(a package's owners, roles, transfers and settings; an organisation's members
and teams), tokens (list, create and revoke the user's tokens; it carries
owners too) or curate (curation of upstream versions, for administrators and
curators); read-private is reserved for private packages. Repeat it for
several (default: read and publish).
--expires is a duration (90d, 12h) or an RFC 3339 time, at most tokens.max_lifetime
(365d) ahead; without it the token lasts tokens.default_lifetime (90d). "never"
makes a token without expiry, which only tokens.allow_no_expiry = true permits.
--otp is a current code of the user's TOTP authenticator: the token is then
recorded as minted with a second factor (level mfa), which the registry's MFA
policy (accounts.publish_auth, default mfa) asks of publishers. Without it the
token is recorded at level password and cannot publish where the policy asks
for more. The command line cannot mint a phishing-resistant token (critical
packages): sign in with a security key on the web and create one there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := tokenSpec(description, scopes, actions, expires, time.Now())
			if err != nil {
				return err
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				return createToken(cmd, c, db, user, otp, spec)
			})
		},
	}
	create.Flags().StringVar(&user, "user", "", "user the token acts as (required)")
	create.Flags().StringArrayVar(&scopes, "scope", nil, "package pattern the token may act on (required, repeatable)")
	create.Flags().StringArrayVar(&actions, "action", nil, "action the token may take: read, publish, publish-new, publish-update, yank, owners, tokens, curate (repeatable; default read and publish)")
	create.Flags().StringVar(&expires, "expires", "", "expiry: a duration such as 30d or 12h, an RFC 3339 time, or never (default tokens.default_lifetime)")
	create.Flags().StringVar(&description, "description", "", "what the token is for")
	create.Flags().StringVar(&otp, "otp", "", "a current code of the user's TOTP authenticator: mints the token at level mfa")
	create.MarkFlagRequired("user")
	return create
}

// createToken makes the token and prints it, once.
func createToken(cmd *cobra.Command, c *config.Config, db *meta.DB, user, otp string, spec access.Spec) error {
	u, err := db.UserByName(cmd.Context(), strings.ToLower(user))
	if errors.Is(err, meta.ErrNotFound) {
		return hinted{fmt.Errorf("no user %q", user), "list users with: trove admin user list"}
	}
	if err != nil {
		return err
	}
	if u.Deleted() {
		return fmt.Errorf("the account %s was deleted: it cannot have tokens", u.Name)
	}
	if spec.AuthLevel, err = tokenLevel(cmd.Context(), c, db, u, otp); err != nil {
		return err
	}
	tokens := access.NewTokens(db, nil)
	tokens.SetLifetimes(tokenLifetimes(c))
	m, err := newMailServices(c, db)
	if err != nil {
		return err
	}
	m.wireAccounts(account.NewUsers(db, nil), tokens)
	secret, t, err := tokens.Create(cmd.Context(), u.ID, spec)
	if err != nil {
		return err
	}
	expiry := "never expires"
	if !t.ExpiresAt.IsZero() {
		expiry = "expires " + t.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintln(cmd.OutOrStdout(), secret)
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: created token %s for %s (scope %s; actions %s; %s; level %s); it is not shown again\n",
		t.PublicID, u.Name, strings.Join(t.Packages, ","), strings.Join(t.Actions, ","), expiry, t.AuthLevel)
	return nil
}

func newTokenList(g *globals) *cobra.Command {
	var listUser string
	list := &cobra.Command{
		Use:   "list --user NAME",
		Short: "List a user's tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				u, err := db.UserByName(cmd.Context(), strings.ToLower(listUser))
				if err != nil {
					return fmt.Errorf("user %q: %w", listUser, err)
				}
				ts, err := db.TokensOfUser(cmd.Context(), u.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSCOPE\tACTIONS\tCREATED\tEXPIRES\tLAST USED\tSTATE\tDESCRIPTION")
				now := time.Now()
				for _, t := range ts {
					state := "active"
					switch {
					case !t.RevokedAt.IsZero():
						state = "revoked"
					case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
						state = "expired"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.PublicID, strings.Join(t.Packages, ","), strings.Join(t.Actions, ","),
						day(t.CreatedAt), expiryDay(t.ExpiresAt), day(t.LastUsedAt), state, t.Description)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "user whose tokens to list (required)")
	list.MarkFlagRequired("user")
	return list
}

func newTokenRevoke(g *globals) *cobra.Command {
	var revokeUser string
	var revokeAll bool
	revoke := &cobra.Command{
		Use:   "revoke --user NAME (ID | --all)",
		Short: "Revoke a token by the ID that token list shows, or every token of the user",
		Long: `Revoke a token by the ID that token list shows, or with --all every token of
the user (after a leak, or when someone leaves). Revocation takes effect at once
on a server that shares the database, and within a second on every replica.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if revokeAll == (len(args) == 1) || len(args) > 1 {
				return errors.New("give one token ID, or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				u, err := db.UserByName(cmd.Context(), strings.ToLower(revokeUser))
				if err != nil {
					return fmt.Errorf("user %q: %w", revokeUser, err)
				}
				if revokeAll {
					n, err := access.NewTokens(db, nil).RevokeAll(cmd.Context(), u.ID)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked %d tokens of %s\n", n, u.Name)
					return nil
				}
				if err := access.NewTokens(db, nil).Revoke(cmd.Context(), u.ID, args[0]); err != nil {
					return hinted{err, "list the user's token IDs with: trove token list --user " + u.Name}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked token %s of %s\n", args[0], u.Name)
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "user the token belongs to (required)")
	revoke.Flags().BoolVar(&revokeAll, "all", false, "revoke every token of the user")
	revoke.MarkFlagRequired("user")
	return revoke
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

func expiryDay(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return day(t)
}

// tokenLifetimes returns the configured token lifetimes.
func tokenLifetimes(c *config.Config) access.Lifetimes {
	return access.Lifetimes{Default: c.Tokens.DefaultLifetime.Std(), Max: c.Tokens.MaxLifetime.Std(), AllowNoExpiry: c.Tokens.AllowNoExpiry}
}

// tokenSpec turns the flags of token create into a Spec.
func tokenSpec(description string, scopes, actions []string, expires string, now time.Time) (access.Spec, error) {
	spec := access.Spec{Description: description}
	var errs []error
	if len(scopes) == 0 {
		errs = append(errs, hinted{errors.New("a token needs at least one --scope"), "use --scope '*' for every package, or --scope npm:@acme/* for one scope"})
	}
	for _, s := range scopes {
		for _, part := range strings.Split(s, ",") {
			p, err := access.ParsePattern(part, registry.Namers(ecosystemRules()...)...)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			spec.Packages = append(spec.Packages, p)
		}
	}
	if len(actions) == 0 {
		actions = []string{"read", "publish"}
	}
	for _, s := range actions {
		for _, part := range strings.Split(s, ",") {
			a, err := access.ParseAction(part)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			spec.Actions = append(spec.Actions, a)
		}
	}
	switch expires {
	case "":
	case "never":
		spec.NoExpiry = true
	default:
		t, err := parseExpiry(expires, now)
		if err != nil {
			errs = append(errs, err)
		}
		spec.ExpiresAt = t
	}
	return spec, errors.Join(errs...)
}

// parseExpiry accepts durations ("30d", "12h", "1d12h") and RFC 3339 times.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, err := config.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q is not a duration (30d, 12h), an RFC 3339 time or never", s)
}
