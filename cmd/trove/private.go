package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"
)

// onOff parses the on|off argument of a switch.
func onOff(arg string) (bool, error) {
	switch arg {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not on or off", arg)
}

// newPackagePrivate is trove package private: whether a package is private
// (docs/private-packages.md).
func newPackagePrivate(registryURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "private ECOSYSTEM NAME [on|off]",
		Short: "Show or set whether a package is private: read only by those holding a role on it",
		Long: `Show whether a package is private. A private package is read only by the users
holding a role on it (reader, maintainer or owner: their own, their
organisation's or a team's), with a token that has the read-private action, and
by administrators; to everyone else it answers exactly like a name that was
never published (docs/private-packages.md).

With on or off, an owner makes it private or public: this needs the API token
in $TROVE_TOKEN, of an owner, with the owners action on the package. Reading it
needs a token in $TROVE_TOKEN only for a private package.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := packageURL(*registryURL, args[0], args[1], "access")
			var b []byte
			var err error
			if len(args) == 2 {
				b, err = callAPI(cmd.Context(), http.MethodGet, u, os.Getenv("TROVE_TOKEN"), *registryURL, nil)
			} else {
				on, perr := onOff(args[2])
				if perr != nil {
					return perr
				}
				var token string
				if token, err = apiToken("owners"); err != nil {
					return err
				}
				body, _ := json.Marshal(map[string]bool{"private": on})
				b, err = callAPI(cmd.Context(), http.MethodPut, u, token, *registryURL, body)
			}
			if err != nil {
				return err
			}
			var p struct{ Private bool }
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if p.Private {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: private (read by those holding a role on it, with read-private tokens)\n", args[0], args[1])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: public\n", args[0], args[1])
			}
			return nil
		},
	}
}

// newOrgPrivate is trove org private: whether an organisation's new
// packages start private.
func newOrgPrivate(a apiCmd) *cobra.Command {
	return &cobra.Command{
		Use:   "private ORG [on|off]",
		Short: "Show or set whether the organisation's new packages start private",
		Long: `Show whether the packages created in an organisation from now on start private
(docs/private-packages.md). Its existing packages keep their access: trove package
private ECOSYSTEM NAME on|off changes them one by one.

With on or off, an owner of the organisation sets it. Every form needs the API
token in $TROVE_TOKEN with the owners action; reading it, membership.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp struct{ Private bool }
			path := "orgs/" + url.PathEscape(args[0])
			if len(args) == 1 {
				if err := a.call(cmd, http.MethodGet, path, nil, &resp); err != nil {
					return err
				}
			} else {
				on, err := onOff(args[1])
				if err != nil {
					return err
				}
				if err := a.call(cmd, http.MethodPut, path+"/private", map[string]bool{"private": on}, &resp); err != nil {
					return err
				}
			}
			if resp.Private {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: new packages start private\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: new packages start public\n", args[0])
			}
			return nil
		},
	}
}
