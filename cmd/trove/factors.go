package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// openFactors builds the second-factor service: the factor key from
// accounts.factor_key_file (created on first use), checked against the
// stored TOTP secrets so a server with the wrong key refuses to start.
func openFactors(ctx context.Context, c *config.Config, db *meta.DB, notify account.Notifier) (*account.Factors, error) {
	f, err := newFactors(c, db, notify)
	if err != nil {
		return nil, err
	}
	if err := f.CheckKey(ctx); err != nil {
		return nil, hinted{err, fmt.Sprintf("copy %s from the server that enrolled the factors; if that key is lost, trove admin factors drop-unreadable removes the factors it sealed (docs/accounts.md)", c.FactorKeyFile())}
	}
	return f, nil
}

// newFactors is openFactors without the key check.
func newFactors(c *config.Config, db *meta.DB, notify account.Notifier) (*account.Factors, error) {
	key, err := account.LoadOrCreateFactorKey(c.FactorKeyFile())
	if err != nil {
		return nil, err
	}
	return account.NewFactors(db, account.FactorsConfig{Key: key, BaseURL: c.BaseURL, Notifier: notify})
}

// newFactorsAdmin is trove admin factors: what concerns every user's
// factors.
func newFactorsAdmin(g *globals) *cobra.Command {
	fa := &cobra.Command{Use: "factors", Short: "Second factors of every account"}
	drop := &cobra.Command{
		Use:   "drop-unreadable",
		Short: "Remove the TOTP factors the factor key cannot open (the key was lost)",
		Long: `Remove every TOTP factor whose secret does not open with this server's
factor key (accounts.factor_key_file). Use it only when the key those
secrets were sealed with is lost for good: restore the key file instead
if you can. Each owner is told; they sign in with a security key or a
recovery code (or with their password, if that was their last factor) and
add their authenticator app again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				f, err := newFactors(c, db, cliNotifier(c, db))
				if err != nil {
					return err
				}
				dropped, err := f.DropUnreadable(cmd.Context(), "administrator (trove admin factors drop-unreadable)")
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: removed %d TOTP factors the factor key %s does not open\n", len(dropped), c.FactorKeyFile())
				return err
			})
		},
	}
	fa.AddCommand(drop)
	return fa
}

// userNamed looks a user up for a command, with a hint when there is none.
func userNamed(ctx context.Context, db *meta.DB, name string) (*trove.User, error) {
	u, err := account.NewUsers(db, nil).ByName(ctx, name)
	if errors.Is(err, trove.ErrNotFound) {
		return nil, hinted{fmt.Errorf("no user %q", name), "list the accounts with: trove admin user list"}
	}
	return u, err
}

// addFactorAdmin adds trove admin user factors and trove admin user
// factor remove.
func addFactorAdmin(g *globals, user *cobra.Command) {
	list := &cobra.Command{
		Use:   "factors NAME",
		Short: "List a user's second factors and recovery codes left",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				return listFactors(cmd, c, db, args[0])
			})
		},
	}
	factor := &cobra.Command{Use: "factor", Short: "Administrator-assisted recovery of second factors"}
	remove := &cobra.Command{
		Use:   "remove NAME ID",
		Short: "Remove a user's second factor (they lost it): logged, and the user is told",
		Long: `Remove a second factor from a user who lost it (administrator-assisted
recovery). Check who is asking first: docs/security/account-recovery.md.
The removal is logged and the user is notified. Removing their last factor
also deletes their recovery codes: the account is then protected by its
password alone until they add a factor again.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return hinted{fmt.Errorf("factor id %q is not a number", args[1]), "list the ids with: trove admin user factors " + args[0]}
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				return removeFactor(cmd, c, db, args[0], id)
			})
		},
	}
	factor.AddCommand(remove)
	user.AddCommand(list, factor)
	user.Parent().AddCommand(newFactorsAdmin(g))
}

func listFactors(cmd *cobra.Command, c *config.Config, db *meta.DB, name string) error {
	ctx := cmd.Context()
	u, err := userNamed(ctx, db, name)
	if err != nil {
		return err
	}
	fs, err := db.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	left, err := db.RecoveryCodesLeft(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tCREATED\tLAST USED\tNOTE")
	for _, f := range fs {
		used, note := "never", ""
		if !f.LastUsedAt.IsZero() {
			used = f.LastUsedAt.Format("2006-01-02 15:04")
		}
		if f.CloneWarning {
			note = "refused: sign count went backwards (cloned?)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Kind, f.Name, f.CreatedAt.Format("2006-01-02"), used, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%d recovery codes left\n", left)
	return nil
}

func removeFactor(cmd *cobra.Command, c *config.Config, db *meta.DB, name string, id int64) error {
	ctx := cmd.Context()
	u, err := userNamed(ctx, db, name)
	if err != nil {
		return err
	}
	f, err := newFactors(c, db, cliNotifier(c, db)) // no key check: removing needs no secret
	if err != nil {
		return err
	}
	left, err := f.AdminRemove(ctx, u.ID, id, "administrator (trove admin user factor remove)")
	if errors.Is(err, account.ErrNoFactor) {
		return hinted{fmt.Errorf("%s has no factor %d", u.Name, id), "list the ids with: trove admin user factors " + u.Name}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: removed factor %d of %s; %d left\n", id, u.Name, left)
	if left == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s has no second factor now and their recovery codes are deleted: they sign in with their password alone, and must add a factor before publishing where one is required\n", u.Name)
	}
	return nil
}

// newAccountCmd is trove account: operator actions on a user's account.
func newAccountCmd(g *globals) *cobra.Command {
	acct := &cobra.Command{Use: "account", Short: "Act on a user's account on their behalf (works on the data directory)"}
	totp := &cobra.Command{Use: "totp", Short: "TOTP authenticators"}
	var user, label string
	enroll := &cobra.Command{
		Use:   "enroll --user NAME [--name LABEL]",
		Short: "Enrol a TOTP authenticator for a user and print its secret once",
		Long: `Enrol a TOTP authenticator for a user, as the operator acting on the
user's behalf (automation, tests, or a user without a browser): the factor
is active at once, and its otpauth URL and secret are printed once, on
standard output, for the operator to hand over privately. If it is the
user's first factor, their recovery codes are printed too. The user is
notified. Users normally add factors themselves on their account's
security page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				return enrollTOTP(cmd, c, db, user, label)
			})
		},
	}
	enroll.Flags().StringVar(&user, "user", "", "the user's name (required)")
	enroll.Flags().StringVar(&label, "name", "authenticator", "the factor's label, as the user sees it")
	enroll.MarkFlagRequired("user")
	totp.AddCommand(enroll)
	acct.AddCommand(totp)
	return acct
}

func enrollTOTP(cmd *cobra.Command, c *config.Config, db *meta.DB, name, label string) error {
	ctx := cmd.Context()
	u, err := userNamed(ctx, db, name)
	if err != nil {
		return err
	}
	f, err := openFactors(ctx, c, db, cliNotifier(c, db))
	if err != nil {
		return err
	}
	e, codes, err := f.EnrollTOTP(ctx, u, label, "operator (trove account totp enroll)")
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "url: %s\nsecret: %s\n", e.URL, e.Secret)
	for _, code := range codes {
		fmt.Fprintf(out, "recovery code: %s\n", code)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: enrolled TOTP factor %d (%q) for %s; the secret is not shown again\n", e.FactorID, label, u.Name)
	return nil
}
