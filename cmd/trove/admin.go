package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// withDB runs fn with the configured metadata database. Administration
// commands work on the data directory directly, beside a running server.
func withDB(ctx context.Context, g *globals, fn func(c *config.Config, db *meta.DB) error) error {
	c, err := loadConfig(g)
	if err != nil {
		return err
	}
	if err := finish(&c); err != nil {
		return err
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(&c, db)
}

func newAdmin(g *globals) *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Administer accounts (works on the data directory)"}
	user := &cobra.Command{Use: "user", Short: "Manage user accounts"}
	admin.AddCommand(user, newCriticalAdmin(g))

	var email string
	var passwordStdin, isAdmin, publicEmail, verified bool
	add := &cobra.Command{
		Use:   "add NAME --email ADDRESS --password-stdin",
		Short: "Create a user account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return hinted{errors.New("the password must come from standard input"),
					"pass --password-stdin and pipe the password in: printf %s \"$PASSWORD\" | trove admin user add ..."}
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				users := account.NewUsers(db, nil)
				if err := setBreaches(c, users); err != nil {
					return err
				}
				m, err := newMailServices(c, db)
				if err != nil {
					return err
				}
				m.wireAccounts(users, access.NewTokens(db, nil))
				u, err := users.Create(cmd.Context(), account.NewUser{Name: args[0], Email: email, Password: pw, Admin: isAdmin, PublicEmail: publicEmail, Verified: verified})
				if err != nil {
					return err
				}
				reportVerification(cmd, u, verified)
				role := "user"
				if u.Admin {
					role = "administrator"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: created %s %s <%s> (%s)\n", role, u.Name, u.Email, emailVisibility(u.PublicEmail))
				return nil
			})
		},
	}
	add.Flags().StringVar(&email, "email", "", "email address (required)")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (one line)")
	add.Flags().BoolVar(&isAdmin, "admin", false, "make the user an administrator")
	add.Flags().BoolVar(&publicEmail, "public-email", false, "show the email address beside the user's name in public package metadata")
	add.Flags().BoolVar(&verified, "verified", false, "vouch for the email address (logged); without it a verification link is mailed, and the user cannot publish until they follow it")
	add.MarkFlagRequired("email")

	var setPublicEmail, setVerified bool
	var setEmail string
	set := &cobra.Command{
		Use:   "set NAME [--public-email[=true|false]] [--email ADDRESS [--verified]]",
		Short: "Change a user account's settings",
		Long: `Change a user account's settings.

--public-email shows the user's email address beside their name in public
package metadata (npm packuments and search results: maintainers and
publisher); --public-email=false hides it again. Addresses are private by
default: metadata names users only. Servers pick the change up within a
second.

--email ADDRESS changes the user's address as if they had asked on their
account page: a link is mailed to ADDRESS and the address changes once it
is followed; the current address is told. With --verified it changes at
once, on your word (logged, a security event, and the old address is
told).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if setVerified && !cmd.Flags().Changed("email") {
				return hinted{errors.New("--verified vouches for a new address"), "give it with --email ADDRESS (trove admin user verify NAME vouches for the current one)"}
			}
			if !cmd.Flags().Changed("public-email") && !cmd.Flags().Changed("email") {
				return hinted{errors.New("nothing to change"), "give --public-email, --public-email=false or --email ADDRESS"}
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				users := account.NewUsers(db, nil)
				u, err := users.ByName(cmd.Context(), args[0])
				if errors.Is(err, trove.ErrNotFound) {
					return hinted{fmt.Errorf("no user %q", args[0]), "list users with: trove admin user list"}
				}
				if err != nil {
					return err
				}
				if cmd.Flags().Changed("email") {
					m, err := newMailServices(c, db)
					if err != nil {
						return err
					}
					old := u.Email
					if err := m.verify.SetEmail(cmd.Context(), u, setEmail, setVerified, "operator (trove admin user set --email)"); err != nil {
						return err
					}
					if setVerified {
						fmt.Fprintf(cmd.ErrOrStderr(), "trove: the email address of %s is now %s (verified); %s is told\n", u.Name, u.Email, old)
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "trove: mailed a link to %s: the address of %s changes when it is followed (or run with --verified); %s is told\n",
							strings.TrimSpace(setEmail), u.Name, old)
					}
				}
				if cmd.Flags().Changed("public-email") {
					if u, err = users.SetPublicEmail(cmd.Context(), u.Name, setPublicEmail); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s's email address is %s\n", u.Name, emailVisibility(u.PublicEmail))
				}
				return nil
			})
		},
	}
	set.Flags().StringVar(&setEmail, "email", "", "change the email address (a link is mailed to it; see --verified)")
	set.Flags().BoolVar(&setVerified, "verified", false, "with --email: vouch for the new address, which changes at once (logged and notified)")
	set.Flags().BoolVar(&setPublicEmail, "public-email", false, "show (or with =false, hide) the email address in public package metadata")

	list := &cobra.Command{
		Use:   "list",
		Short: "List user accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				us, err := db.Users(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tEMAIL\tADMIN\tPUBLIC EMAIL\tCREATED\tSTATE")
				for _, u := range us {
					state := "active"
					switch {
					case u.Deleted():
						state = "deleted " + u.DeletedAt.Format("2006-01-02")
					case u.Disabled():
						state = "disabled"
					}
					fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\t%s\n", u.Name, u.Email, u.Admin, u.PublicEmail, u.CreatedAt.Format("2006-01-02"), state)
				}
				return tw.Flush()
			})
		},
	}
	unlock := &cobra.Command{
		Use:   "unlock NAME",
		Short: "Let a user name throttled after failed sign-ins sign in again (every server, within seconds)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				users := account.NewUsers(db, nil)
				u, err := users.ByName(cmd.Context(), args[0])
				if errors.Is(err, trove.ErrNotFound) {
					return hinted{fmt.Errorf("no user %q", args[0]), "list the accounts with: trove admin user list"}
				}
				if err != nil {
					return err
				}
				if err := users.Unlock(cmd.Context(), u.Name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: unlocked sign-ins for %s; the addresses the failures came from stay limited\n", u.Name)
				return nil
			})
		},
	}
	user.AddCommand(add, set, list, unlock, newAdminUserVerify(g), newRecoverCmd(g), newAdminUserDelete(g))
	addFactorAdmin(g, user)
	admin.AddCommand(newAdminMail(g), newAdminInvite(g), newAdminAudit(g), newAdminHeld(g), newAdminToken(g), newAdminQueue(g))
	return admin
}

func emailVisibility(public bool) string {
	if public {
		return "public"
	}
	return "private"
}

// readPassword reads one line, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, account.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("reading password: standard input was empty")
	}
	return pw, nil
}
