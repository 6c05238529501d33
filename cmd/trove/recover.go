package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// resetLink returns the URL of the page that completes a password reset.
func resetLink(c *config.Config) func(token string) string {
	base := strings.TrimRight(c.BaseURL, "/")
	return func(token string) string { return base + "/-/reset/confirm?token=" + url.QueryEscape(token) }
}

// newRecoverCmd is trove admin user recover: administrator-assisted
// account recovery (docs/security/account-recovery.md).
func newRecoverCmd(g *globals) *cobra.Command {
	var email, operator, reason string
	var link bool
	cmd := &cobra.Command{
		Use:   "recover NAME --operator WHO --reason TEXT [--email NEW] [--reset-link]",
		Short: "Give a user who lost every other way in their account back (after checking who they are)",
		Long: `Give a user who lost their password, second factors and recovery codes
their account back, after checking who they are (the checks to make are in
docs/security/account-recovery.md).

--email replaces the account's address (the user's old address may be on a
domain that lapsed); --reset-link prints a one-time password reset link,
valid for an hour, to hand over out of band. Either way every API token of
the account is revoked, and a security event naming you and the reason is
recorded, mailed to the old and the new address, and logged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" && !link {
				return hinted{errors.New("nothing to recover with"), "give --email NEW, --reset-link, or both"}
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				users := account.NewUsers(db, nil)
				u, revoked, err := users.Recover(cmd.Context(), account.Recovery{Name: args[0], NewEmail: email, Operator: operator, Reason: reason})
				if errors.Is(err, trove.ErrNotFound) {
					return hinted{fmt.Errorf("no user %q", args[0]), "list the accounts with: trove admin user list"}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: recovered %s <%s>: %d API tokens revoked; the event is recorded with operator %s\n", u.Name, u.Email, revoked, operator)
				if !link {
					return nil
				}
				l, err := account.NewResets(users, nil, nil, resetLink(c)).IssueLink(cmd.Context(), u)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: a one-time password reset link for %s, valid for %s (give it to them only):\n", u.Name, account.ResetTTL)
				fmt.Fprintln(cmd.OutOrStdout(), l)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's new email address")
	cmd.Flags().BoolVar(&link, "reset-link", false, "print a one-time password reset link")
	cmd.Flags().StringVar(&operator, "operator", "", "your name, recorded with the event (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "the identity checks you made, or a ticket reference (required)")
	cmd.MarkFlagRequired("operator")
	cmd.MarkFlagRequired("reason")
	return cmd
}
