package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newOwner(g *globals) *cobra.Command {
	var registryURL string
	cmd := &cobra.Command{
		Use:   "owner",
		Short: "List, add and remove the owners of a package through a server's API",
		Long: `List, add and remove the owners of a package in any ecosystem (npm users
can also use npm owner). Owners may publish, yank and change owners; every
change is recorded in the transparency log. The commands talk to a running
server (--url, default $TROVE_URL or http://127.0.0.1:8080); add and remove
need the API token in $TROVE_TOKEN, of an owner or administrator, with the
publish action on the package.

NAME is written as in its ecosystem: @scope/name for npm, a module path for Go.`,
	}
	def := os.Getenv("TROVE_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&registryURL, "url", def, "server URL (env TROVE_URL)")
	ownersURL := func(eco, name string) string {
		return strings.TrimRight(registryURL, "/") + "/api/v1/packages/" + url.PathEscape(eco) + "/" + url.PathEscape(name) + "/owners"
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list ECOSYSTEM NAME",
		Short: "List a package's owners, one user name a line",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := callAPI(cmd.Context(), http.MethodGet, ownersURL(args[0], args[1]), os.Getenv("TROVE_TOKEN"), registryURL)
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
				token := os.Getenv("TROVE_TOKEN")
				if token == "" {
					return hinted{errors.New("no API token: set TROVE_TOKEN"), "create one with: trove token create --user NAME --scope ECOSYSTEM:NAME --action publish"}
				}
				u := ownersURL(args[0], args[1]) + "/" + url.PathEscape(args[2])
				if _, err := callAPI(cmd.Context(), method, u, token, registryURL); err != nil {
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
	return cmd
}

// callAPI sends a request without a body to Trove's API and returns the
// body of a 200 answer; other answers become errors with the server's message.
func callAPI(ctx context.Context, method, u, token, server string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, hinted{err, "is the server running at " + server + "? set --url or TROVE_URL"}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}
