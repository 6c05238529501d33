package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/osv"
	"github.com/trove-dev/trove/internal/registry"
)

// newReport is trove report.
func newReport(*globals) *cobra.Command {
	var registryURL, reason, category string
	cmd := &cobra.Command{
		Use:   "report ECOSYSTEM NAME [VERSION] --reason TEXT [--category malicious|spam|typosquat|other]",
		Short: "Report a package or one of its releases to the registry's administrators",
		Long: `Report a package, or one release of it, as malicious (the default category),
spam, a typosquat or other abuse. The administrators see it in their queue
(trove admin queue) and remove the release, release it or dismiss the report;
you are mailed their decision. Say in --reason what you found and where (a
file and line, a URL): at most 2000 bytes.

You may have one open report per package or release, and file 10 an hour.
The command talks to a running server (--url, default $TROVE_URL or
http://127.0.0.1:8080) with the API token in $TROVE_TOKEN.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("read")
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return hinted{errors.New("a report needs a reason"), "say what you found and where with --reason"}
			}
			in := api.ReportRequest{Ecosystem: args[0], Name: args[1], Category: category, Reason: reason}
			if len(args) == 3 {
				in.Version = args[2]
			}
			body, _ := json.Marshal(in)
			if _, err := callAPI(cmd.Context(), http.MethodPost, strings.TrimRight(registryURL, "/")+"/api/v1/reports", token, registryURL, body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: reported %s to the administrators; you will be mailed their decision\n", strings.Join(args, " "))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "what you found and where (required)")
	cmd.Flags().StringVar(&category, "category", "malicious", "one of "+strings.Join(registry.ReportCategories, ", "))
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	return cmd
}

// newAdminQueue is trove admin queue.
func newAdminQueue(*globals) *cobra.Command {
	var registryURL string
	queue := &cobra.Command{
		Use:   "queue",
		Short: "List and act on reported packages and held uploads (through a server's API)",
		Long: `The administrators' queue: the open reports, grouped by package or release,
and the uploads held for review, in one list.

  trove admin queue                                   list it
  trove admin queue quarantine ECO NAME VERSION --reason R
                          take a visible release out of view while you look into
                          it: nothing installs it, its version stays taken, its
                          reports stay open
  trove admin queue remove ECO NAME VERSION --reason R [--malicious]
                          take the release (visible or quarantined) down for good
                          (a tombstone: its version stays taken); --malicious also
                          publishes it as an OSV record (/osv/)
  trove admin queue release ECO NAME VERSION          publish a held upload, or put
                          a quarantined release back as it was
  trove admin queue dismiss ECO NAME [VERSION]        the reports were wrong

Each action but quarantine closes the target's reports; each is recorded in the
audit log (a quarantine, its release and a removal in the transparency log too)
and mailed to the package's owners (and, when it closes them, the reporters). Unlike the other trove admin commands these talk
to a running server (--url, default $TROVE_URL or http://127.0.0.1:8080)
with an administrator's API token in $TROVE_TOKEN (with the yank action on
every package).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("yank")
			if err != nil {
				return err
			}
			b, err := callAPI(cmd.Context(), http.MethodGet, strings.TrimRight(registryURL, "/")+"/api/v1/admin/queue", token, registryURL, nil)
			if err != nil {
				return err
			}
			var q api.QueueView
			if err := json.Unmarshal(b, &q); err != nil {
				return fmt.Errorf("reading the queue: %w", err)
			}
			if len(q.Reports) == 0 && len(q.Held) == 0 && len(q.Quarantined) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "trove: the queue is empty: no open reports, nothing held or quarantined")
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tECOSYSTEM\tNAME\tVERSION\tSINCE\tCOUNT\tSTATE")
			for _, r := range q.Reports {
				state := "visible"
				switch {
				case r.Held:
					state = "held"
				case r.Quarantined:
					state = "quarantined"
				case !r.Visible:
					state = "gone"
				}
				fmt.Fprintf(w, "report\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Ecosystem, r.Name, orDash(r.Version), r.First.Format(time.RFC3339), r.Count, state)
			}
			for _, h := range q.Held {
				fmt.Fprintf(w, "held\t%s\t%s\t%s\t%s\t-\t%s\n", h.Ecosystem, h.Name, h.Version, h.At.Format(time.RFC3339), h.Reason)
			}
			for _, qr := range q.Quarantined {
				fmt.Fprintf(w, "quarantined\t%s\t%s\t%s\t%s\t-\twas %s\n", qr.Ecosystem, qr.Name, qr.Version, qr.At.Format(time.RFC3339), qr.PriorState)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			for _, r := range q.Reports {
				for i := range r.Reasons {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s: %s by %s: %q\n", r.Ecosystem, r.Name, orDash(r.Version), r.Categories[i], r.Reporters[i], r.Reasons[i])
				}
			}
			for _, h := range q.Held {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s: held: %s\n", h.Ecosystem, h.Name, h.Version, h.Message)
			}
			for _, qr := range q.Quarantined {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s: quarantined by %s: %q\n", qr.Ecosystem, qr.Name, qr.Version, qr.By, qr.Reason)
			}
			return nil
		},
	}
	queue.PersistentFlags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	act := func(action, use, short, done string, args cobra.PositionalArgs) *cobra.Command {
		var reason string
		var malicious bool
		c := &cobra.Command{
			Use: action + " " + use, Short: short, Args: args,
			RunE: func(cmd *cobra.Command, args []string) error {
				token, err := apiToken("yank")
				if err != nil {
					return err
				}
				in := api.QueueAction{Action: action, Ecosystem: args[0], Name: args[1], Reason: reason, Malicious: malicious}
				if len(args) == 3 {
					in.Version = args[2]
				}
				body, _ := json.Marshal(in)
				if _, err := callAPI(cmd.Context(), http.MethodPost, strings.TrimRight(registryURL, "/")+"/api/v1/admin/queue", token, registryURL, body); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s\n", done, strings.Join(args, " "))
				return nil
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why (mailed to the owners and reporters; a quarantine's, a release's and a removal's go into the transparency log)")
		if action == "remove" {
			c.Flags().BoolVar(&malicious, "malicious", false, "the release is malicious: publish it as an OSV record")
		}
		return c
	}
	queue.AddCommand(
		act("quarantine", "ECOSYSTEM NAME VERSION --reason TEXT", "Take a visible release out of view while it is looked into", "quarantined", cobra.ExactArgs(3)),
		act("remove", "ECOSYSTEM NAME VERSION --reason TEXT [--malicious]", "Take a release down for good", "took down", cobra.ExactArgs(3)),
		act("release", "ECOSYSTEM NAME VERSION", "Publish a held upload, or put a quarantined release back, and close its reports", "released", cobra.ExactArgs(3)),
		act("dismiss", "ECOSYSTEM NAME [VERSION]", "Close the reports on a package or release as wrong", "dismissed the reports on", cobra.RangeArgs(2, 3)))
	return queue
}

// takedownNotice mails the owners and the reporters of an
// administrator's decision on the queue, in its transaction (each once:
// an owner who reported hears as an owner).
func takedownNotice(n *account.Notifications) registry.TakedownNotice {
	return func(ctx context.Context, tx *meta.Tx, d registry.Decision) error {
		dec := account.Decision{Ecosystem: string(d.Package.Ecosystem), Package: d.Package.DisplayName, Version: d.Version,
			Action: d.Action, Reason: d.Reason, Malicious: d.Malicious, Quarantine: d.Quarantine}
		told := make(map[int64]bool)
		for _, id := range d.Owners {
			if !told[id] {
				told[id] = true
				if err := n.DecisionTx(ctx, tx, id, dec, true); err != nil {
					return err
				}
			}
		}
		for _, id := range d.Reporters {
			if !told[id] {
				told[id] = true
				if err := n.DecisionTx(ctx, tx, id, dec, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// advisorySource lists the OSV feed's advisories from the database.
type advisorySource struct{ db *meta.DB }

func (s advisorySource) Advisories(ctx context.Context, limit int) ([]*osv.Advisory, error) {
	as, err := s.db.Advisories(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*osv.Advisory, 0, len(as))
	for _, a := range as {
		out = append(out, &osv.Advisory{Serial: a.ID, Ecosystem: a.Ecosystem, Name: string(a.Name), Version: a.Version, Summary: a.Summary,
			Published: a.Published, Modified: a.Modified, Withdrawn: a.Withdrawn})
	}
	return out, nil
}
