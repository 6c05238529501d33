package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
)

// newCurate returns the curation service of a registry, which registers
// its kinds of log record (so that recovery replays them) and follows the
// registry's changes.
func newCurate(c *config.Config, db *meta.DB, reg *registry.Service) (*curate.Service, error) {
	return curate.New(curate.Options{DB: db, Registry: reg, Contact: curationContact(c)})
}

// curationURL returns the API URL of an ecosystem's pattern's curation.
func curationURL(server, eco, pattern string, more ...string) string {
	u := strings.TrimRight(server, "/") + "/api/v1/curation/" + url.PathEscape(eco) + "/" + url.PathEscape(pattern)
	for _, m := range more {
		u += "/" + m
	}
	return u
}

const curationHelp = `
The commands talk to a running server (--url, default $TROVE_URL or
http://127.0.0.1:8080) with the API token in $TROVE_TOKEN, of an administrator
or a curator (trove curator add), with the curate action. Every change is
recorded in the transparency log with who made it and why.`

func newPolicy(g *globals) *cobra.Command {
	var registryURL string
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show and set the curation policies of upstream versions through a server's API",
		Long: `Curation policies decide which upstream versions clients see. A policy is set
for an ecosystem's pattern: * (every package), a pattern such as @acme/*, or one
package name; a package takes each setting from the most specific policy that
sets it. Settings: --mode open|approved-only (only versions curators approved or
allowed), --min-age (a cool-down before a new upstream version is served, such
as 72h or 3d), --install-scripts allow|block (npm versions with install
scripts). "inherit" removes a setting. Local packages are not curated.` + curationHelp,
	}
	cmd.PersistentFlags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.AddCommand(newPolicyShow(&registryURL), newPolicySet(&registryURL))
	return cmd
}

func newPolicyShow(registryURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "show ECOSYSTEM [PATTERN|NAME]",
		Short: "Show the policies and marks of an ecosystem, a pattern, or what applies to one package",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, pattern, err := curationArgs(args)
			if err != nil {
				return err
			}
			b, err := callAPI(cmd.Context(), http.MethodGet, curationURL(*registryURL, args[0], pattern), token, *registryURL, nil)
			if err != nil {
				return err
			}
			var v api.CurationView
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			printView(cmd.OutOrStdout(), v)
			return nil
		},
	}
}

// printView prints a curation view as tables.
func printView(w io.Writer, v api.CurationView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if e := v.Effective; e != nil {
		fmt.Fprintf(tw, "EFFECTIVE\tmode %s%s\tmin-age %s%s\tinstall-scripts %s%s\n", e.Mode, from(e.ModeFrom), e.MinAge, from(e.MinAgeFrom), e.InstallScripts, from(e.ScriptsFrom))
	}
	fmt.Fprintln(tw, "POLICY\tMODE\tMIN-AGE\tINSTALL-SCRIPTS\tSET BY\tSET AT\tWHY")
	for _, p := range v.Policies {
		fmt.Fprintf(tw, "%s:%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Ecosystem, p.Pattern, p.Mode, p.MinAge, p.InstallScripts, p.SetBy, p.SetAt.Format(time.RFC3339), p.Why)
	}
	fmt.Fprintln(tw, "MARK\tNAME\tVERSIONS\tSET BY\tSET AT\tWHY")
	for _, m := range v.Marks {
		kind := m.Kind
		if m.Tag != "" {
			kind = "tag " + m.Tag
		}
		fmt.Fprintf(tw, "%s\t%s:%s\t%s\t%s\t%s\t%s\n", kind, m.Ecosystem, m.Name, m.Versions, m.SetBy, m.SetAt.Format(time.RFC3339), m.Why)
	}
}

func from(p string) string {
	if p == "" {
		return " (default)"
	}
	return " (" + p + ")"
}

func newPolicySet(registryURL *string) *cobra.Command {
	var mode, minAge, scripts, why string
	cmd := &cobra.Command{
		Use:   "set ECOSYSTEM [PATTERN|NAME] [--mode M] [--min-age D] [--install-scripts S] [--why TEXT]",
		Short: "Change a policy (PATTERN defaults to *: the whole ecosystem)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, pattern, err := curationArgs(args)
			if err != nil {
				return err
			}
			body := map[string]string{"why": why}
			for flag, key := range map[string]string{"mode": "mode", "min-age": "min_age", "install-scripts": "install_scripts"} {
				if cmd.Flags().Changed(flag) {
					body[key] = cmd.Flags().Lookup(flag).Value.String()
				}
			}
			if len(body) == 1 {
				return hinted{fmt.Errorf("no policy setting to change"), "give --mode, --min-age or --install-scripts"}
			}
			b, _ := json.Marshal(body)
			resp, err := callAPI(cmd.Context(), http.MethodPut, curationURL(*registryURL, args[0], pattern, "policy"), token, *registryURL, b)
			if err != nil {
				return err
			}
			var out struct{ Policy api.Policy }
			if err := json.Unmarshal(resp, &out); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			p := out.Policy
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: policy %s:%s is mode %s, min-age %s, install-scripts %s\n", p.Ecosystem, p.Pattern, p.Mode, p.MinAge, p.InstallScripts)
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "", "open, approved-only or inherit")
	cmd.Flags().StringVar(&minAge, "min-age", "", "minimum age of upstream versions (72h, 3d, 0) or inherit")
	cmd.Flags().StringVar(&scripts, "install-scripts", "", "allow, block or inherit")
	cmd.Flags().StringVar(&why, "why", "", "why (recorded in the transparency log)")
	return cmd
}

// markCommand returns a command that adds (or with --undo removes) a mark.
func markCommand(use, short, long string, args cobra.PositionalArgs, kind func() (kind, tag string)) *cobra.Command {
	var registryURL, why string
	var undo bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long + curationHelp,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("curate")
			if err != nil {
				return err
			}
			k, tag := kind()
			versions := "*"
			if len(args) == 3 {
				versions = args[2]
			}
			b, _ := json.Marshal(map[string]string{"kind": k, "tag": tag, "versions": versions, "why": why})
			method, verb := http.MethodPost, "marked"
			if undo {
				method, verb = http.MethodDelete, "unmarked"
			}
			if _, err := callAPI(cmd.Context(), method, curationURL(registryURL, args[0], args[1], "marks"), token, registryURL, b); err != nil {
				return err
			}
			label := k
			if tag != "" {
				label = tag
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s %s %s %s\n", verb, args[0], args[1], versions, label)
			return nil
		},
	}
	cmd.Flags().StringVar(&why, "why", "", "why (required; recorded in the transparency log)")
	cmd.Flags().BoolVar(&undo, "undo", false, "remove the mark instead")
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	return cmd
}

func newApprove(*globals) *cobra.Command {
	var tag string
	cmd := markCommand("approve ECOSYSTEM NAME VERSION --why TEXT [--tag approved] [--undo]",
		"Approve (tag) one upstream version of a package",
		`Tag one version of an upstream package, approved by default. Approved
versions are served in approved-only mode and regardless of the cool-down and
install-script rules; a deny or malicious mark still blocks them.`,
		cobra.ExactArgs(3), func() (string, string) { return curate.Tag, tag })
	cmd.Flags().StringVar(&tag, "tag", curate.ApprovedTag, "the tag to apply")
	return cmd
}

func newDeny(*globals) *cobra.Command {
	var malicious bool
	cmd := markCommand("deny ECOSYSTEM NAME|PATTERN [VERSION|RANGE] --why TEXT [--malicious] [--undo]",
		"Block upstream versions of a package (all of them without VERSION)",
		`Block versions of an upstream package, or of every package matching a pattern
such as @evil/*: all versions, one, or a range in the ecosystem's syntax
(npm: ">=2.0.0 <2.3.1", PyPI: ">=2.0,<2.3"; Go: one version). Blocked versions
disappear from metadata and an exact request is refused with the rule.
--malicious records the versions as malicious (the advisory feed's mark).`,
		cobra.RangeArgs(2, 3), func() (string, string) {
			if malicious {
				return curate.Malicious, ""
			}
			return curate.Deny, ""
		})
	cmd.Flags().BoolVar(&malicious, "malicious", false, "mark as malicious rather than denied")
	return cmd
}

func newAllow(*globals) *cobra.Command {
	return markCommand("allow ECOSYSTEM NAME|PATTERN [VERSION|RANGE] --why TEXT [--undo]",
		"Allow upstream versions of a package whatever the mode, cool-down and install-script rules",
		`Put versions of an upstream package (or of every package matching a pattern)
on the allow list: they are served in approved-only mode and regardless of the
cool-down and install-script rules; a deny or malicious mark still blocks them.`,
		cobra.RangeArgs(2, 3), func() (string, string) { return curate.Allow, "" })
}

func newCurator(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "curator",
		Short: "Make users curators of upstream versions, or not (works on the data directory)",
		Long: `Curators may set curation policies, approve, allow and deny upstream versions
(trove policy, approve, allow, deny) with a token carrying the curate action;
administrators may too. These commands work on the data directory, like trove
admin.`,
	}
	change := func(use, short string, fn func(ctx context.Context, db *meta.DB, user string) error, done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " USER",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withDB(cmd.Context(), g, func(_ *config.Config, db *meta.DB) error {
					if err := fn(cmd.Context(), db, args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s\n", args[0], done)
					return nil
				})
			},
		}
	}
	cmd.AddCommand(
		change("add", "Make a user a curator", func(ctx context.Context, db *meta.DB, user string) error {
			return curate.AddCurator(ctx, db, user, "admin", time.Now())
		}, "is a curator"),
		change("remove", "Make a user no longer a curator", curate.RemoveCurator, "is no longer a curator"),
		&cobra.Command{
			Use:   "list",
			Short: "List the curators, one user name a line",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withDB(cmd.Context(), g, func(_ *config.Config, db *meta.DB) error {
					names, err := db.Curators(cmd.Context())
					for _, n := range names {
						fmt.Fprintln(cmd.OutOrStdout(), n)
					}
					return err
				})
			},
		})
	return cmd
}

// curationContact is who refusals of blocked versions name.
func curationContact(c *config.Config) string {
	return c.Upstream.CurationContact
}

// curationArgs returns the API token of a curation command and the
// pattern its arguments give (ECOSYSTEM [PATTERN]; "*" by default).
func curationArgs(args []string) (token, pattern string, err error) {
	token, err = apiToken("curate")
	pattern = "*"
	if len(args) == 2 {
		pattern = args[1]
	}
	return token, pattern, err
}
