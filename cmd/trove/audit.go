package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// auditFlags are the filters of trove audit and trove admin audit, as the
// query of audit.ParseQuery.
type auditFlags struct {
	user, pkg, action, outcome, since, until string
	before                                   int64
	limit                                    int
	json                                     bool
}

func (f *auditFlags) add(cmd *cobra.Command, withUser bool) {
	fl := cmd.Flags()
	if withUser {
		fl.StringVar(&f.user, "user", "", "only this account's entries")
	}
	fl.StringVar(&f.pkg, "package", "", "only entries on this package, as ECOSYSTEM:NAME (npm:left-pad)")
	fl.StringVar(&f.action, "action", "", "only this action (npm.publish), or a prefix ending in a dot (npm.)")
	fl.StringVar(&f.outcome, "outcome", "", "only this outcome: ok, denied, unauthenticated, invalid or error")
	fl.StringVar(&f.since, "since", "", "only entries at or after this time (2026-01-31 or 2026-01-31T12:00:00Z)")
	fl.StringVar(&f.until, "until", "", "only entries before this time")
	fl.Int64Var(&f.before, "before", 0, "only entries older than this entry ID (the next page)")
	fl.IntVar(&f.limit, "limit", audit.DefaultLimit, fmt.Sprintf("at most this many entries, newest first (up to %d)", audit.MaxLimit))
	fl.BoolVar(&f.json, "json", false, "print JSON, one entry a line")
}

func (f *auditFlags) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"user": f.user, "package": f.pkg, "action": f.action, "outcome": f.outcome, "since": f.since, "until": f.until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.before != 0 {
		v.Set("before", strconv.FormatInt(f.before, 10))
	}
	v.Set("limit", strconv.Itoa(f.limit))
	return v
}

// auditRow is an entry as both commands print it (and the API answers).
type auditRow = api.AuditEntry

func printAudit(w io.Writer, rows []auditRow, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tUSER\tCREDENTIAL\tCLIENT\tACTION\tTARGET\tOUTCOME\tCOUNT")
	for _, r := range rows {
		user := r.User
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s %d\t%d\n", r.ID, r.At.UTC().Format(time.RFC3339), user, r.Credential,
			dash(r.Client), r.Action, dash(r.Target), r.Outcome, r.Status, r.Count)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newAudit() *cobra.Command {
	var f auditFlags
	var all bool
	var registryURL, org string
	cmd := &cobra.Command{
		Use:   "audit [--org NAME] [--package ECOSYSTEM:NAME] [--action NAME] [--outcome OUTCOME] [--since TIME] [--until TIME]",
		Short: "Show your account's audit log (every change made with its credentials) through a server's API",
		Long: `Show the audit log of your account: every request that changed something,
or tried to, made with its tokens or web sessions: when, from which client
address, with which credential (a token's public ID, never its secret), the
action (npm.publish, api.yank, web.account.tokens.create...), its target and
outcome. Newest first; --before ID pages back. See docs/audit.md.

The command talks to a running server (--url, default $TROVE_URL or
http://127.0.0.1:8080) with the API token in $TROVE_TOKEN, which needs the
tokens action. Administrators (with a token that has the tokens action on
every package) may pass --user NAME or --all to read other accounts' entries.
The owners of an organisation pass --org NAME to read the entries on its
packages and its own settings, whoever made them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("tokens")
			if err != nil {
				return err
			}
			v := f.query()
			if all {
				v.Set("all", "true")
			}
			if org != "" {
				v.Set("org", org)
			}
			b, err := callAPI(cmd.Context(), "GET", strings.TrimRight(registryURL, "/")+"/api/v1/audit?"+v.Encode(), token, registryURL, nil)
			if err != nil {
				return err
			}
			var body struct{ Entries []auditRow }
			if err := json.Unmarshal(b, &body); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			return printAudit(cmd.OutOrStdout(), body.Entries, f.json)
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVar(&all, "all", false, "administrators: every account's entries")
	cmd.Flags().StringVar(&org, "org", "", "an organisation's owners: the entries on its packages and settings")
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	return cmd
}

func newAdminAudit(g *globals) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit [--user NAME] [--package ECOSYSTEM:NAME] [--action NAME] [--outcome OUTCOME] [--since TIME] [--until TIME]",
		Short: "Show the audit log of every account, filtered",
		Long: `Show the audit log: every request that changed something, or tried to, of
every account, newest first (--before ID pages back). Requests without a
signed-in account are counted, one entry per kind and minute (COUNT). See
docs/audit.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				q, err := audit.ParseQuery(f.query(), foldName)
				if err != nil {
					return err
				}
				if q.User != "" {
					u, err := db.UserByName(cmd.Context(), q.User)
					if errors.Is(err, meta.ErrNotFound) {
						return hinted{fmt.Errorf("no user %q", q.User), "list the accounts with: trove admin user list"}
					}
					if err != nil {
						return err
					}
					q.Filter.UserID = u.ID
				}
				es, err := db.AuditEntries(cmd.Context(), q.Filter, q.Limit)
				if err != nil {
					return err
				}
				return printAudit(cmd.OutOrStdout(), api.AuditEntries(es), f.json)
			})
		},
	}
	f.add(cmd, true)
	return cmd
}

// foldName folds a package name as the registry keys it.
func foldName(eco trove.Ecosystem, name string) string {
	for _, r := range ecosystemRules() {
		if r.Ecosystem() == eco {
			return r.Fold(name)
		}
	}
	return name
}
