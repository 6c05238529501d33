package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"
)

func newOwner(g *globals) *cobra.Command {
	var registryURL string
	cmd := &cobra.Command{
		Use:   "owner",
		Short: "List, add and remove the owners of a package, grant roles and transfer it, through a server's API",
		Long: `List, add and remove the owners of a package in any ecosystem (npm users
can also use npm owner), grant users and teams roles on it (owner, maintainer,
reader: docs/roles.md), and move it to or out of an organisation. Owners may
publish, yank and change owners and roles; maintainers publish, yank and move
tags. Owner changes and transfers are recorded in the transparency log. The
commands talk to a running server (--url, default $TROVE_URL or
http://127.0.0.1:8080); changes need the API token in $TROVE_TOKEN, of an
owner or administrator, with the owners action on the package (a password
sign-in's token has it; a token made with only publish does not).

NAME is written as in its ecosystem: @scope/name for npm, a module path for Go.`,
	}
	cmd.PersistentFlags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	ownersURL := func(eco, name string) string { return packageURL(registryURL, eco, name, "owners") }
	cmd.AddCommand(&cobra.Command{
		Use:   "list ECOSYSTEM NAME",
		Short: "List a package's owners, one user name a line",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := callAPI(cmd.Context(), http.MethodGet, ownersURL(args[0], args[1]), os.Getenv("TROVE_TOKEN"), registryURL, nil)
			if err != nil {
				return err
			}
			var resp struct{ Owners []struct{ Name string } }
			if err := json.Unmarshal(b, &resp); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			for _, o := range resp.Owners {
				fmt.Fprintln(cmd.OutOrStdout(), o.Name)
			}
			return nil
		},
	})
	change := func(use, short, method, verb string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ECOSYSTEM NAME USER",
			Short: short,
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				token, err := apiToken("owners")
				if err != nil {
					return err
				}
				u := ownersURL(args[0], args[1]) + "/" + url.PathEscape(args[2])
				if _, err := callAPI(cmd.Context(), method, u, token, registryURL, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s is %s %s %s\n", args[2], verb, args[0], args[1])
				return nil
			},
		}
	}
	cmd.AddCommand(
		change("add", "Make a user an owner of a package", http.MethodPut, "an owner of"),
		change("remove", "Remove a user from a package's owners (not the last one)", http.MethodDelete, "not an owner of"),
	)
	cmd.AddCommand(ownerRoleCommands(&registryURL)...)
	return cmd
}
