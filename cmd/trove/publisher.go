package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/trust"
)

func newPublisher(*globals) *cobra.Command {
	var registryURL string
	cmd := &cobra.Command{
		Use:   "publisher",
		Short: "Configure the trusted publishers (OIDC) of a package through a server's API",
		Long: `A trusted publisher is a CI job, named by the claims of the OIDC ID token its
platform signs, that may exchange that token for a short-lived token publishing
one package (docs/trusted-publishing.md). A publisher of a name no package has
yet is pending: the first publish through it creates the package, owned by the
user who added it.

The commands talk to a running server (--url, default $TROVE_URL or
http://127.0.0.1:8080) with the API token in $TROVE_TOKEN, of an owner or
administrator, with the publish action on the package, at the level the
package's MFA policy asks (trove package mfa). A minted token carries the
level of the token that added its publisher.

NAME is written as in its ecosystem: @scope/name for npm, a module path for Go.`,
	}
	cmd.PersistentFlags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.AddCommand(newPublisherAdd(&registryURL), newPublisherList(&registryURL), newPublisherRemove(&registryURL))
	return cmd
}

func newPublisherAdd(registryURL *string) *cobra.Command {
	var spec trust.Spec
	var claims []string
	cmd := &cobra.Command{
		Use:   "add ECOSYSTEM NAME --issuer NAME (GitHub: --repository --owner-id --workflow | GitLab: --project [--config-file] | generic: --claim K=V...) [--environment E]",
		Short: "Add a trusted publisher to a package (pending for a name no package has yet); prints its id",
		Long: `Add a trusted publisher. --issuer names one of the issuers the server's
administrator configured ([[trusted_publishing.issuers]]); its kind decides the
flags:

  github   --repository OWNER/REPO --owner-id ID --workflow FILE.yml [--environment E]
           (ID: the numeric owner.id GitHub's API shows; it survives renames)
  gitlab   --project GROUP/PROJECT [--config-file .gitlab-ci.yml] [--environment E]
  generic  --claim KEY=VALUE, repeated: each claim must be present with exactly
           that value; at least one besides sub

The publisher's id is printed on standard output.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if spec.Issuer == "" {
				return hinted{fmt.Errorf("no --issuer"), "give the name of an issuer the server trusts, such as --issuer github"}
			}
			for _, kv := range claims {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return hinted{fmt.Errorf("--claim %q is not KEY=VALUE", kv), "write --claim sub=project:acme/demo --claim pipeline=release"}
				}
				if spec.Claims == nil {
					spec.Claims = map[string]string{}
				}
				if _, dup := spec.Claims[k]; dup {
					return fmt.Errorf("--claim %s is given twice", k)
				}
				spec.Claims[k] = v
			}
			token, err := apiToken("publish")
			if err != nil {
				return err
			}
			body, err := json.Marshal(spec)
			if err != nil {
				return err
			}
			b, err := callAPI(cmd.Context(), http.MethodPost, packageURL(*registryURL, args[0], args[1], "publishers"), token, *registryURL, body)
			if err != nil {
				return err
			}
			var p trust.Publisher
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			state := ""
			if p.Pending {
				state = " (pending: no package has the name yet; the first publish through it creates the package, owned by " + p.CreatedBy + ")"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: added trusted publisher %d of %s %s: %s%s\n", p.ID, p.Ecosystem, p.Name, rules(&p), state)
			fmt.Fprintln(cmd.OutOrStdout(), p.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Issuer, "issuer", "", "the issuer's name in the server's configuration (github, gitlab, ...)")
	f.StringVar(&spec.Repository, "repository", "", "GitHub: the repository, OWNER/REPO")
	f.StringVar(&spec.RepositoryOwnerID, "owner-id", "", "GitHub: the numeric id of the repository's owner")
	f.StringVar(&spec.Workflow, "workflow", "", "GitHub: the workflow's file name in .github/workflows")
	f.StringVar(&spec.Project, "project", "", "GitLab: the project's path, GROUP/PROJECT")
	f.StringVar(&spec.ConfigFile, "config-file", "", "GitLab: the CI configuration file (default .gitlab-ci.yml)")
	f.StringVar(&spec.Environment, "environment", "", "GitHub, GitLab: the deployment environment the job must run in")
	f.StringArrayVar(&claims, "claim", nil, "generic: KEY=VALUE, a claim the ID token must carry with exactly this value (repeatable)")
	return cmd
}

// rules describes what a publisher's tokens must say.
func rules(p *trust.Publisher) string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("issuer", p.Issuer)
	add("repository", p.Repository)
	add("owner-id", p.RepositoryOwnerID)
	add("workflow", p.Workflow)
	add("project", p.Project)
	add("config-file", p.ConfigFile)
	add("environment", p.Environment)
	for _, k := range slices.Sorted(maps.Keys(p.Claims)) {
		add("claim:"+k, p.Claims[k])
	}
	return strings.Join(out, " ")
}

func newPublisherList(registryURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list ECOSYSTEM NAME",
		Short: "List a package's trusted publishers (of a pending name, those you added)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("publish")
			if err != nil {
				return err
			}
			b, err := callAPI(cmd.Context(), http.MethodGet, packageURL(*registryURL, args[0], args[1], "publishers"), token, *registryURL, nil)
			if err != nil {
				return err
			}
			var resp struct{ Publishers []*trust.Publisher }
			if err := json.Unmarshal(b, &resp); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if len(resp.Publishers) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s has no trusted publishers\n", args[0], args[1])
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSTATE\tADDED BY\tADDED AT\tRULES")
			for _, p := range resp.Publishers {
				state := "active"
				if p.Pending {
					state = "pending"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Kind, state, p.CreatedBy, p.CreatedAt.Format(time.RFC3339), rules(p))
			}
			return tw.Flush()
		},
	}
}

func newPublisherRemove(registryURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ECOSYSTEM NAME ID",
		Short: "Remove a trusted publisher; the tokens it minted that are still live are revoked",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id, err := strconv.ParseInt(args[2], 10, 64); err != nil || id <= 0 {
				return hinted{fmt.Errorf("publisher id %q is not a number", args[2]), "trove publisher list " + args[0] + " " + args[1] + " shows the ids"}
			}
			token, err := apiToken("publish")
			if err != nil {
				return err
			}
			if _, err := callAPI(cmd.Context(), http.MethodDelete, packageURL(*registryURL, args[0], args[1], "publishers", args[2]), token, *registryURL, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: removed trusted publisher %s of %s %s; the tokens it minted are revoked\n", args[2], args[0], args[1])
			return nil
		},
	}
}

// newTrustedOnly is trove package trusted-only.
func newTrustedOnly(registryURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "trusted-only ECOSYSTEM NAME [on|off]",
		Short: "Show or set whether a package is published only through its trusted publishers",
		Long: `Show whether a package takes trusted publishing only: its uploads are then
refused unless made with a token one of its trusted publishers minted (trove
publisher), so a leaked long-lived token cannot publish it. Tags, owners and
settings stay with the owners' own tokens.

With on or off, an owner sets it: this needs the API token in $TROVE_TOKEN, of
an owner, with the publish action on the package, at the level the package's
MFA policy asks (trove package mfa); a minted token cannot.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := packageURL(*registryURL, args[0], args[1], "policy")
			var b []byte
			var err error
			if len(args) == 2 {
				b, err = callAPI(cmd.Context(), http.MethodGet, u, os.Getenv("TROVE_TOKEN"), *registryURL, nil)
			} else {
				var on bool
				switch args[2] {
				case "on":
					on = true
				case "off":
				default:
					return fmt.Errorf("%q is not on or off", args[2])
				}
				var token string
				if token, err = apiToken("publish"); err != nil {
					return err
				}
				body, _ := json.Marshal(map[string]bool{"trusted_only": on})
				b, err = callAPI(cmd.Context(), http.MethodPut, u, token, *registryURL, body)
			}
			if err != nil {
				return err
			}
			var p struct {
				TrustedOnly bool `json:"trusted_only"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if p.TrustedOnly {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: trusted publishing only (uploads need a token its trusted publishers minted)\n", args[0], args[1])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: any token of an owner may publish\n", args[0], args[1])
			}
			return nil
		},
	}
}
