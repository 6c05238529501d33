package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// An apiCmd calls Trove's API at a server URL with $TROVE_TOKEN.
type apiCmd struct{ server *string }

// call sends the request (body as JSON unless nil) and decodes the answer
// into out unless it is nil.
func (a apiCmd) call(cmd *cobra.Command, method, path string, body, out any) error {
	token, err := apiToken("owners")
	if err != nil {
		return err
	}
	var b []byte
	if body != nil {
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	ans, err := callAPI(cmd.Context(), method, strings.TrimRight(*a.server, "/")+"/api/v1/"+path, token, *a.server, b)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(ans, out); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	return nil
}

// done reports a change on standard error.
func done(cmd *cobra.Command, format string, args ...any) {
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: "+format+"\n", args...)
}

type grantList []struct{ Name, Role string }

func (gs grantList) print(w io.Writer, prefix string) {
	for _, g := range gs {
		fmt.Fprintf(w, "%s%s %s\n", prefix, g.Name, g.Role)
	}
}

func newOrg(g *globals) *cobra.Command {
	var server string
	a := apiCmd{&server}
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Create organisations, invite members, manage their roles and teams, through a server's API",
		Long: `Organisations own packages together (docs/roles.md). Their members hold a role
(owner, maintainer or reader) on every package the organisation owns; teams hold
roles on some of them. The npm scope named after an organisation, and the
reservations that name it (namespaces.reserved org), are its namespaces: packages
created there belong to it.

People join by accepting an invitation (trove org accept). The last owner cannot
leave. Every command needs an API token in $TROVE_TOKEN with the owners action
(a password sign-in's token has it), and changes need the role owner in the
organisation. The commands talk to a running server (--url, default $TROVE_URL).`,
	}
	cmd.PersistentFlags().StringVar(&server, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	esc := url.PathEscape
	simple := func(use, short string, n int, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(n), RunE: run}
	}
	var role string
	invite := simple("invite ORG USER --role ROLE", "Invite a user to the organisation (they join when they accept)", 2, func(cmd *cobra.Command, args []string) error {
		if err := a.call(cmd, http.MethodPut, "orgs/"+esc(args[0])+"/invitations/"+esc(args[1]), map[string]string{"role": role}, nil); err != nil {
			return err
		}
		done(cmd, "invited %s to %s as %s: they join when they run trove org accept %s", args[1], args[0], role, args[0])
		return nil
	})
	invite.Flags().StringVar(&role, "role", "reader", "the role: owner, maintainer or reader")
	cmd.AddCommand(
		simple("create ORG", "Create an organisation; you are its owner", 1, func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodPost, "orgs", map[string]string{"name": args[0]}, nil); err != nil {
				return err
			}
			done(cmd, "created the organisation %s; you are its owner", args[0])
			return nil
		}),
		simple("list", "List your organisations and your role in each", 0, func(cmd *cobra.Command, args []string) error {
			var resp struct{ Orgs grantList }
			if err := a.call(cmd, http.MethodGet, "orgs", nil, &resp); err != nil {
				return err
			}
			resp.Orgs.print(cmd.OutOrStdout(), "")
			return nil
		}),
		simple("review ORG", "List an organisation's members with their last activity; inactive members are marked (owners)", 1, func(cmd *cobra.Command, args []string) error {
			return printReview(cmd, a, "orgs/"+esc(args[0])+"/review")
		}),
		simple("show ORG", "Show an organisation's members, invitations and teams", 1, func(cmd *cobra.Command, args []string) error {
			var resp struct {
				Private     bool
				Members     grantList
				Invitations []struct{ User, Role, Expires string }
				Teams       []struct {
					Name    string
					Members []string
				}
			}
			if err := a.call(cmd, http.MethodGet, "orgs/"+esc(args[0]), nil, &resp); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if resp.Private {
				fmt.Fprintln(w, "private: new packages start private")
			}
			resp.Members.print(w, "member ")
			for _, i := range resp.Invitations {
				fmt.Fprintf(w, "invited %s %s (until %s)\n", i.User, i.Role, i.Expires)
			}
			for _, t := range resp.Teams {
				fmt.Fprintf(w, "team %s: %s\n", t.Name, strings.Join(t.Members, " "))
			}
			return nil
		}),
		invite,
		simple("invitations", "List your pending invitations", 0, func(cmd *cobra.Command, args []string) error {
			var resp struct {
				Invitations []struct {
					Org, Role string
					InvitedBy string `json:"invited_by"`
				}
			}
			if err := a.call(cmd, http.MethodGet, "invitations", nil, &resp); err != nil {
				return err
			}
			for _, i := range resp.Invitations {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s (invited by %s)\n", i.Org, i.Role, i.InvitedBy)
			}
			return nil
		}),
		simple("accept ORG", "Accept your invitation to an organisation", 1, func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodPut, "invitations/"+esc(args[0]), nil, nil); err != nil {
				return err
			}
			done(cmd, "you are a member of %s", args[0])
			return nil
		}),
		simple("decline ORG", "Decline your invitation to an organisation", 1, func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodDelete, "invitations/"+esc(args[0]), nil, nil); err != nil {
				return err
			}
			done(cmd, "declined the invitation to %s", args[0])
			return nil
		}),
		simple("set-role ORG USER ROLE", "Change a member's role (owner, maintainer or reader)", 3, func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodPut, "orgs/"+esc(args[0])+"/members/"+esc(args[1]), map[string]string{"role": args[2]}, nil); err != nil {
				return err
			}
			done(cmd, "%s is a %s of %s", args[1], args[2], args[0])
			return nil
		}),
		simple("remove ORG USER", "Remove a member (your own name: leave); the last owner stays", 2, func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodDelete, "orgs/"+esc(args[0])+"/members/"+esc(args[1]), nil, nil); err != nil {
				return err
			}
			done(cmd, "%s is no longer a member of %s", args[1], args[0])
			return nil
		}),
		newOrgTeam(a),
		newOrgPrivate(a),
	)
	return cmd
}

func newOrgTeam(a apiCmd) *cobra.Command {
	esc := url.PathEscape
	cmd := &cobra.Command{Use: "team", Short: "Create and delete an organisation's teams, and choose their members"}
	team := func(use, short, method string, n int, verb string) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(n), RunE: func(cmd *cobra.Command, args []string) error {
			path := "orgs/" + esc(args[0]) + "/teams/" + esc(args[1])
			if n == 3 {
				path += "/members/" + esc(args[2])
			}
			if err := a.call(cmd, method, path, nil, nil); err != nil {
				return err
			}
			done(cmd, "%s: %s", strings.Join(args, " "), verb)
			return nil
		}}
	}
	cmd.AddCommand(
		team("create ORG TEAM", "Create a team", http.MethodPut, 2, "created"),
		team("delete ORG TEAM", "Delete a team and its grants", http.MethodDelete, 2, "deleted"),
		team("add ORG TEAM USER", "Add a member of the organisation to a team", http.MethodPut, 3, "added"),
		team("remove ORG TEAM USER", "Remove a user from a team", http.MethodDelete, 3, "removed"),
	)
	return cmd
}

// ownerRoleCommands are trove owner's commands about roles and transfers.
func ownerRoleCommands(server *string) []*cobra.Command {
	a := apiCmd{server}
	pkgPath := func(eco, name string, more ...string) string {
		return strings.TrimPrefix(packageURL("", eco, name, more...), "/api/v1/")
	}
	var team bool
	grant := &cobra.Command{
		Use:   "grant ECOSYSTEM NAME USER ROLE",
		Short: "Give a user (or with --team, a team of the package's organisation) a role on a package: owner, maintainer, reader or none",
		Args:  cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := "users"
			if team {
				kind = "teams"
			}
			method, body := http.MethodPut, any(map[string]string{"role": args[3]})
			if args[3] == "none" {
				method, body = http.MethodDelete, nil
			}
			if err := a.call(cmd, method, pkgPath(args[0], args[1], "access", kind, args[2]), body, nil); err != nil {
				return err
			}
			done(cmd, "%s has the role %s on %s %s", args[2], args[3], args[0], args[1])
			return nil
		},
	}
	grant.Flags().BoolVar(&team, "team", false, "USER names a team of the package's organisation")
	var org, user string
	transfer := &cobra.Command{
		Use:   "transfer ECOSYSTEM NAME (--org ORG | --user YOURSELF)",
		Short: "Move a package to an organisation you own, or out of its organisation to yourself",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.call(cmd, http.MethodPost, pkgPath(args[0], args[1], "transfer"), map[string]string{"org": org, "user": user}, nil); err != nil {
				return err
			}
			done(cmd, "%s %s moved to %s%s; its grants were recomputed", args[0], args[1], org, user)
			return nil
		},
	}
	transfer.Flags().StringVar(&org, "org", "", "the organisation to move the package to")
	transfer.Flags().StringVar(&user, "user", "", "the user (yourself) to move the package out of its organisation to")
	access := &cobra.Command{
		Use:   "access ECOSYSTEM NAME",
		Short: "Show who holds roles on a package: its organisation, users and teams",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp struct {
				Private      bool
				Org          string
				Users, Teams grantList
			}
			if err := (apiCmd{server}).callOpen(cmd, pkgPath(args[0], args[1], "access"), &resp); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if resp.Private {
				fmt.Fprintln(w, "private")
			}
			if resp.Org != "" {
				fmt.Fprintf(w, "org %s\n", resp.Org)
			}
			resp.Users.print(w, "user ")
			resp.Teams.print(w, "team ")
			return nil
		},
	}
	review := &cobra.Command{
		Use:   "review ECOSYSTEM NAME",
		Short: "List everyone with a role on a package you own, with their last activity; inactive people are marked",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printReview(cmd, a, pkgPath(args[0], args[1], "review"))
		},
	}
	return []*cobra.Command{grant, transfer, access, review}
}

// printReview prints the inactivity review at path (docs/roles.md).
func printReview(cmd *cobra.Command, a apiCmd, path string) error {
	var resp struct {
		InactiveAfterDays int `json:"inactive_after_days"`
		People            []struct {
			User, Role, Via string
			LastActive      string `json:"last_active"`
			Inactive        bool
		}
	}
	if err := a.call(cmd, http.MethodGet, path, nil, &resp); err != nil {
		return err
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tROLE\tVIA\tLAST ACTIVE\t")
	for _, p := range resp.People {
		mark := ""
		if p.Inactive {
			mark = "inactive"
		}
		day, _, _ := strings.Cut(p.LastActive, "T")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.User, p.Role, p.Via, day, mark)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if resp.InactiveAfterDays == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "trove: the inactivity review is off on this server (policy.inactive_after = 0)")
	} else {
		fmt.Fprintf(cmd.ErrOrStderr(), "trove: inactive: no sign-in, token use or release for %d days; remove a role with trove owner grant ECOSYSTEM NAME USER none, trove org team remove ORG TEAM USER or trove org remove ORG USER\n", resp.InactiveAfterDays)
	}
	return nil
}

// callOpen reads an endpoint that needs no token.
func (a apiCmd) callOpen(cmd *cobra.Command, path string, out any) error {
	ans, err := callAPI(cmd.Context(), http.MethodGet, strings.TrimRight(*a.server, "/")+"/api/v1/"+path, os.Getenv("TROVE_TOKEN"), *a.server, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(ans, out)
}
