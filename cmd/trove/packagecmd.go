package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

func newPackageCmd(g *globals) *cobra.Command {
	var registryURL string
	cmd := &cobra.Command{
		Use:   "package",
		Short: "A package's settings, through a server's API",
	}
	cmd.PersistentFlags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.AddCommand(&cobra.Command{
		Use:   "mfa ECOSYSTEM NAME [LEVEL]",
		Short: "Show or raise the authentication a package's changes need",
		Long: `Show the MFA policy of a package: the level of authentication that publishing
and changing its settings (tags, owners, yank, deprecate, delete) need, and why:
the registry's default (accounts.publish_auth), the owners' own level, or the
package being critical (phishing-resistant: a security key or passkey).

With LEVEL (password, mfa or phishing-resistant), an owner raises the package's
level, never below the registry's default; giving the default again removes the
override. This needs the API token in $TROVE_TOKEN, of an owner, with the
owners action on the package (docs/roles.md), minted at LEVEL or above.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := packageURL(registryURL, args[0], args[1], "policy")
			var b []byte
			var err error
			if len(args) == 2 {
				b, err = callAPI(cmd.Context(), http.MethodGet, u, os.Getenv("TROVE_TOKEN"), registryURL, nil)
			} else {
				if _, err := registry.ParseAuthLevel(args[2]); err != nil {
					return err
				}
				var token string
				if token, err = apiToken("owners"); err != nil {
					return err
				}
				body, _ := json.Marshal(map[string]string{"publish_auth": args[2]})
				b, err = callAPI(cmd.Context(), http.MethodPut, u, token, registryURL, body)
			}
			if err != nil {
				return err
			}
			return printPolicy(cmd, args[0], args[1], b)
		},
	}, newTrustedOnly(&registryURL), newPackagePrivate(&registryURL))
	return cmd
}

func printPolicy(cmd *cobra.Command, eco, name string, b []byte) error {
	var p struct {
		Needs, Default, Override string
		Critical, Marked, Ranked bool
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	why := "the registry's default"
	switch {
	case p.Marked:
		why = "critical: marked by an administrator"
	case p.Ranked:
		why = "critical: among the most downloaded packages"
	case p.Override != "":
		why = "raised by its owners from the default " + p.Default
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s: changes need %s (%s)\n", eco, name, p.Needs, why)
	return nil
}

// newCriticalAdmin is trove admin critical: the administrator's marks of
// critical packages, on the data directory.
func newCriticalAdmin(g *globals) *cobra.Command {
	crit := &cobra.Command{Use: "critical", Short: "Mark packages critical: their changes need a phishing-resistant sign-in"}
	mark := func(use, short string, marked bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " ECOSYSTEM NAME", Short: short, Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
					return markCritical(cmd, db, args[0], args[1], marked)
				})
			},
		}
	}
	list := &cobra.Command{
		Use: "list", Short: "List the critical packages (marked or ranked by downloads)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error { return listCritical(cmd, db) })
		},
	}
	crit.AddCommand(mark("mark", "Mark a package critical; its maintainers are told", true),
		mark("unmark", "Clear an administrator's critical mark (a package ranked by downloads stays critical)", false), list)
	return crit
}

// markCritical sets or clears the mark of the package (ecosystem, name).
func markCritical(cmd *cobra.Command, db *meta.DB, eco, name string, marked bool) error {
	ctx := cmd.Context()
	pkg, err := packageNamed(cmd, db, eco, name)
	if err != nil {
		return err
	}
	before, err := db.PackagePolicy(ctx, pkg.ID)
	if err != nil {
		return err
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetCriticalMark(ctx, pkg.ID, marked) }); err != nil {
		return err
	}
	if marked && !before.Critical() {
		owners, err := db.Owners(ctx, pkg.ID)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(owners))
		for _, u := range owners {
			ids = append(ids, u.ID)
		}
		if err := criticalNotice(nil)(ctx, ids, pkg.Ecosystem, pkg.Name, "an operator marked it critical (trove admin critical mark)"); err != nil {
			return err
		}
	}
	state := "critical: changes need a phishing-resistant sign-in"
	if after, _ := db.PackagePolicy(ctx, pkg.ID); !after.Critical() {
		state = "not critical"
	} else if !marked {
		state = "still critical: it is ranked among the most downloaded packages"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s is %s\n", eco, pkg.DisplayName, state)
	return nil
}

// packageNamed finds a local package by its name as its ecosystem writes it.
func packageNamed(cmd *cobra.Command, db *meta.DB, eco, name string) (*trove.Package, error) {
	var rules registry.Rules
	for _, r := range ecosystemRules() {
		if string(r.Ecosystem()) == eco {
			rules = r
		}
	}
	if rules == nil {
		return nil, hinted{fmt.Errorf("unknown ecosystem %q", eco), "give npm, pypi or go"}
	}
	n, err := rules.ParseName(name)
	if err != nil {
		return nil, err
	}
	pkg, err := db.Package(cmd.Context(), rules.Ecosystem(), n)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("no %s package %q on this registry", eco, name)
	}
	if err == nil && pkg.Upstream {
		return nil, fmt.Errorf("%s %s is imported from upstream registries: it has no maintainers here to hold to a policy", eco, name)
	}
	return pkg, err
}

func listCritical(cmd *cobra.Command, db *meta.DB) error {
	ids, err := db.CriticalPackages(cmd.Context())
	if err != nil {
		return err
	}
	for _, id := range ids {
		pkg, err := db.PackageByID(cmd.Context(), id)
		if err != nil {
			return err
		}
		pol, err := db.PackagePolicy(cmd.Context(), id)
		if err != nil {
			return err
		}
		why := "ranked"
		if pol.Marked {
			why = "marked"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", pkg.Ecosystem, pkg.DisplayName, why)
	}
	return nil
}
