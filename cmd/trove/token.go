package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

func newToken(g *globals) *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (works on the data directory)"}
	tok.AddCommand(newTokenCreate(g), newTokenList(g), newTokenRevoke(g))
	return tok
}

func newTokenCreate(g *globals) *cobra.Command {
	var user, description, expires, otp string
	var scopes, actions, cidrs []string
	create := &cobra.Command{
		Use:   "create --user NAME --scope PATTERN [--action ACTION] [--expires 30d] [--cidr PREFIX] [--otp CODE]",
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
curators) or read-private (reads the private packages in its scope on which
the user holds a role: reader, maintainer or owner; docs/private-packages.md).
Repeat it for several (default: read and publish).
--expires is a duration (90d, 12h) or an RFC 3339 time, at most tokens.max_lifetime
(365d) ahead; without it the token lasts tokens.default_lifetime (90d). "never"
makes a token without expiry, which only tokens.allow_no_expiry = true permits.
--cidr limits the token to client addresses in a CIDR prefix (10.0.0.0/8,
192.0.2.1/32, 2001:db8::/32; repeatable): a request presenting it from any
other address is refused (403), on every protocol. Behind a reverse proxy the
address is the one the proxy reports, if it is in connections.trusted_proxies.
--otp is a current code of the user's TOTP authenticator: the token is then
recorded as minted with a second factor (level mfa), which the registry's MFA
policy (accounts.publish_auth, default mfa) asks of publishers. Without it the
token is recorded at level password and cannot publish where the policy asks
for more. The command line cannot mint a phishing-resistant token (critical
packages): sign in with a security key on the web and create one there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := tokenSpec(description, scopes, actions, expires, time.Now())
			if c, cerr := access.ParseCIDRs(cidrs); cerr != nil {
				err = errors.Join(err, fmt.Errorf("--cidr: %w", cerr))
			} else {
				spec.CIDRs = c
			}
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
	create.Flags().StringArrayVar(&cidrs, "cidr", nil, "client address prefix the token may be used from, such as 10.0.0.0/8 (repeatable; default any address)")
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
	from := ""
	if len(t.CIDRs) > 0 {
		from = "; from " + strings.Join(t.CIDRs, ",")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: created token %s for %s (scope %s; actions %s; %s; level %s%s); it is not shown again\n",
		t.PublicID, u.Name, strings.Join(t.Packages, ","), strings.Join(t.Actions, ","), expiry, t.AuthLevel, from)
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
				fmt.Fprintln(tw, "ID\tSCOPE\tACTIONS\tCREATED\tEXPIRES\tLAST USED\tFROM\tSTATE\tDESCRIPTION")
				now := time.Now()
				for _, t := range ts {
					state := "active"
					switch {
					case !t.RevokedAt.IsZero():
						state = "revoked"
					case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
						state = "expired"
					}
					from := "any"
					if len(t.CIDRs) > 0 {
						from = strings.Join(t.CIDRs, ",")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.PublicID, strings.Join(t.Packages, ","), strings.Join(t.Actions, ","),
						day(t.CreatedAt), expiryDay(t.ExpiresAt), lastUsed(t.LastUsedAt), from, state, t.Description)
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
	var revokeUser, pkg, leaked, foundAt, source, server string
	var revokeAll bool
	revoke := &cobra.Command{
		Use:   "revoke (--user NAME (ID | --all) | --package ECOSYSTEM:NAME | --leaked SECRET)",
		Short: "Revoke a token, every token of a user, every token that can write a package, or a leaked token",
		Long: `Revoke API tokens, on the data directory:

  --user NAME ID        the token with that ID (as token list shows it)
  --user NAME --all     every token of the user (after a leak, or when someone leaves)
  --package npm:NAME    every token that can write the package: the tokens of its
                        owners whose scope covers it with an action other than read
                        and tokens
  --leaked SECRET       the token with that secret, reported exposed (--found-at
                        and --source say where, for its owner's mail); with
                        --server URL the report goes to a running server's API
                        instead, which needs no sign-in: the secret is the proof

Each revocation is recorded as a security event of the tokens' owners, who are
mailed. Revocation takes effect at once on a server that shares the database,
and within a second on every replica.`,
		Args: func(cmd *cobra.Command, args []string) error {
			modes := 0
			for _, on := range []bool{revokeUser != "", pkg != "", leaked != ""} {
				if on {
					modes++
				}
			}
			switch {
			case modes != 1:
				return errors.New("give one of --user NAME, --package ECOSYSTEM:NAME or --leaked SECRET")
			case revokeUser != "" && (revokeAll == (len(args) == 1) || len(args) > 1):
				return errors.New("give one token ID, or --all")
			case revokeUser == "" && (len(args) > 0 || revokeAll):
				return errors.New("a token ID and --all go with --user NAME")
			case server != "" && leaked == "":
				return errors.New("--server goes with --leaked")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if leaked != "" && server != "" {
				return reportLeaked(cmd, server, leaked, foundAt, source)
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				m, err := newMailServices(c, db)
				if err != nil {
					return err
				}
				tokens := access.NewTokens(db, nil)
				m.wireAccounts(account.NewUsers(db, nil), tokens)
				by := access.Revocation{By: "the operator", Client: "the command line"}
				switch {
				case leaked != "":
					if err := access.CheckToken(leaked); err != nil {
						return fmt.Errorf("--leaked: %w", err)
					}
					if source == "" {
						source = "reported by the operator"
					}
					ok, err := tokens.RevokeLeaked(cmd.Context(), leaked, access.Revocation{URL: foundAt, Source: source, Client: "the command line"})
					if err != nil {
						return err
					}
					// The operator may know: the database is theirs.
					if ok {
						fmt.Fprintln(cmd.ErrOrStderr(), "trove: revoked the leaked token; its owner is told")
					} else {
						fmt.Fprintln(cmd.ErrOrStderr(), "trove: no live token has that secret (unknown, revoked or expired): nothing to do")
					}
					return nil
				case pkg != "":
					return revokePackageTokens(cmd, c, db, tokens, pkg, by)
				}
				u, err := db.UserByName(cmd.Context(), strings.ToLower(revokeUser))
				if err != nil {
					return fmt.Errorf("user %q: %w", revokeUser, err)
				}
				if revokeAll {
					n, err := tokens.RevokeAll(cmd.Context(), u.ID, by)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked %d tokens of %s\n", n, u.Name)
					return nil
				}
				if err := tokens.Revoke(cmd.Context(), u.ID, args[0], by); err != nil {
					return hinted{err, "list the user's token IDs with: trove token list --user " + u.Name}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked token %s of %s\n", args[0], u.Name)
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "user the token belongs to")
	revoke.Flags().BoolVar(&revokeAll, "all", false, "revoke every token of the user")
	revoke.Flags().StringVar(&pkg, "package", "", "revoke every token that can write this package (ECOSYSTEM:NAME)")
	revoke.Flags().StringVar(&leaked, "leaked", "", "revoke the token with this secret, reported exposed")
	revoke.Flags().StringVar(&foundAt, "found-at", "", "with --leaked: where the token was found (a URL), for its owner")
	revoke.Flags().StringVar(&source, "source", "", "with --leaked: what kind of place it was found in (commit, issue, log...)")
	revoke.Flags().StringVar(&server, "server", "", "with --leaked: report it to the server at this URL instead of the data directory")
	return revoke
}

// revokePackageTokens revokes every token that can write the package
// ECOSYSTEM:NAME (the operator's --package).
func revokePackageTokens(cmd *cobra.Command, c *config.Config, db *meta.DB, tokens *access.Tokens, pkg string, by access.Revocation) error {
	eco, name, ok := strings.Cut(pkg, ":")
	if !ok || eco == "" || name == "" {
		return hinted{fmt.Errorf("--package %q is not ECOSYSTEM:NAME", pkg), "for example --package npm:left-pad or --package pypi:requests"}
	}
	blobs, err := openBlobs(cmd.Context(), c)
	if err != nil {
		return err
	}
	reg, err := registry.New(registry.Config{DB: db, Blobs: blobs, Rules: ecosystemRules(), TempDir: c.TempDir()})
	if err != nil {
		return err
	}
	key, holders, err := reg.TokenHolders(cmd.Context(), nil, trove.Ecosystem(eco), name)
	if err != nil {
		return err
	}
	by.Package = pkg
	n, err := tokens.RevokePackage(cmd.Context(), trove.Ecosystem(eco), key, holders, by)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked %s that could write %s (of its %s)\n", count(n, "token"), pkg, count(len(holders), "owner"))
	return nil
}

// reportLeaked sends a leaked token to a server's API, which needs no
// sign-in.
func reportLeaked(cmd *cobra.Command, server, secret, foundAt, source string) error {
	if err := access.CheckToken(secret); err != nil {
		return fmt.Errorf("--leaked: %w", err)
	}
	body, err := json.Marshal(map[string]string{"token": secret, "url": foundAt, "source": source})
	if err != nil {
		return err
	}
	u := strings.TrimRight(server, "/") + "/api/v1/tokens/leaked"
	if _, err := callAPI(cmd.Context(), http.MethodPost, u, "", server, body); err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "trove: reported; if it is a live token of that registry, it is revoked and its owner told")
	return nil
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

// lastUsed shows a time of last use to the minute, its granularity
// (access.TouchEvery), in UTC.
func lastUsed(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04Z")
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

// newAdminToken is trove admin token: revocations across every user.
func newAdminToken(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Revoke the tokens of every user"}
	var yes bool
	all := &cobra.Command{
		Use:   "revoke-all --yes",
		Short: "Revoke every API token of every user (after a compromise of the server or its database)",
		Long: `Revoke every API token of every user, at once: after the server, its database
or a backup was exposed, or when the token hashes may have leaked. Every user
whose tokens are revoked gets a security event and a mail, and makes new tokens
(npm login, the web's tokens page, trove token create). Trusted publishing and
web sessions are not affected. Without --yes it says what it would do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				if !yes {
					live, err := db.LiveTokens(cmd.Context(), time.Now())
					if err != nil {
						return err
					}
					users := map[int64]bool{}
					for _, t := range live {
						users[t.UserID] = true
					}
					fmt.Fprintf(cmd.OutOrStdout(), "would revoke %s of %s (and any expired ones); run again with --yes to revoke them\n",
						count(len(live), "live token"), count(len(users), "user"))
					return nil
				}
				m, err := newMailServices(c, db)
				if err != nil {
					return err
				}
				tokens := access.NewTokens(db, nil)
				m.wireAccounts(account.NewUsers(db, nil), tokens)
				n, users, err := tokens.RevokeEveryone(cmd.Context(), access.Revocation{By: "the operator", Client: "the command line"})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: revoked %s of %s; each is told by mail\n", count(n, "token"), count(users, "user"))
				return nil
			})
		},
	}
	all.Flags().BoolVar(&yes, "yes", false, "revoke; without it, only say what would happen")
	cmd.AddCommand(all)
	return cmd
}

// count says "1 token", "2 tokens".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
