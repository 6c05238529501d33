package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// newAdminUserDelete is trove admin user delete.
func newAdminUserDelete(g *globals) *cobra.Command {
	var yes bool
	var heir string
	cmd := &cobra.Command{
		Use:   "delete NAME [--transfer-to NAME] [--yes]",
		Short: "Delete a user account for good (without --yes, only say what would happen)",
		Long: `Delete a user account. Without --yes the command prints what would happen and
changes nothing. With --yes, in one transaction:

  - the name stays taken for ever (nobody can register it again);
  - the email address, password, second factors, recovery codes, API tokens,
    sessions, pending email links and known devices are erased;
  - the account is removed from the owners of every package (each removal is
    recorded in the transparency log); packages it was the only owner of are
    left without owners, for administrators, or go to --transfer-to NAME;
  - its releases stay, naming it as their publisher;
  - it is told by mail at its verified address, before the address is erased.

The last active administrator cannot be deleted. Servers beside the command
stop accepting the account's tokens within a second.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				del, err := deletions(cmd.Context(), c, db)
				if err != nil {
					return err
				}
				d := account.Deletion{User: args[0], Heir: heir, Client: "trove admin user delete"}
				if !yes {
					plan, err := del.Plan(cmd.Context(), d)
					if err != nil {
						return deleteHint(err)
					}
					printConsequences(cmd.OutOrStdout(), plan, "would")
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: nothing changed: run again with --yes to delete %s\n", plan.User.Name)
					return nil
				}
				done, err := del.Delete(cmd.Context(), d)
				if err != nil && done == nil {
					return deleteHint(err)
				}
				printConsequences(cmd.OutOrStdout(), done, "did")
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: deleted the account %s\n", done.User.Name)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete; without it, only print what would happen")
	cmd.Flags().StringVar(&heir, "transfer-to", "", "an account that becomes the owner of the packages with no other owner")
	return cmd
}

// deletions builds the deletion service as trove serve has it, with the
// transparency log the owner changes are appended to.
func deletions(ctx context.Context, c *config.Config, db *meta.DB) (*account.Deletions, error) {
	reg, err := adminRegistry(ctx, c, db)
	if err != nil {
		return nil, err
	}
	m, err := newMailServices(c, db)
	if err != nil {
		return nil, err
	}
	return account.NewDeletions(db, m.notes, reg, nil, nil), nil
}

func deleteHint(err error) error {
	if errors.Is(err, trove.ErrNotFound) {
		return hinted{err, "list the accounts with: trove admin user list"}
	}
	return err
}

// printConsequences says what a deletion would do or did.
func printConsequences(w io.Writer, c *account.Consequences, verb string) {
	u := c.User
	erased := "would be erased"
	if verb == "did" {
		erased = "were erased"
	}
	fmt.Fprintf(w, "account %s <%s>: the name stays taken; the email address, password, %d second factor(s), %d API token(s), %d session(s), email links and known devices %s\n",
		u.Name, u.Email, c.Factors, c.Tokens, c.Sessions, erased)
	fmt.Fprintf(w, "releases published: %d (they stay, naming %s as their publisher)\n", c.Releases, u.Name)
	if len(c.Packages) == 0 {
		fmt.Fprintf(w, "packages owned: none\n")
		return
	}
	fmt.Fprintf(w, "packages owned: %d (removed as owner of each, in the transparency log)\n", len(c.Packages))
	for _, p := range c.Shared() {
		fmt.Fprintf(w, "  %s %s: keeps its other owners\n", p.Ecosystem, p.DisplayName)
	}
	for _, p := range c.Ownerless() {
		if c.Heir != nil {
			fmt.Fprintf(w, "  %s %s: goes to %s\n", p.Ecosystem, p.DisplayName, c.Heir.Name)
		} else {
			fmt.Fprintf(w, "  %s %s: left without owners (administrators only)\n", p.Ecosystem, p.DisplayName)
		}
	}
}
