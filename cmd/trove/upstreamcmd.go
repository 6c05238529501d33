package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newUpstream(g *globals) *cobra.Command {
	up := &cobra.Command{Use: "upstream", Short: "Decide which names come from upstream registries (docs/proxy.md)"}
	var registryURL, as, reason string
	allow := &cobra.Command{
		Use:   "allow ECOSYSTEM NAME --as local|upstream [--reason TEXT]",
		Short: "Make an exception for a name: a local fork of an upstream name, or an upstream name in a local namespace",
		Long: `A name is local or upstream, never both: Trove never merges upstream versions
into a name published here, and refuses to publish here a name an upstream
has (dependency confusion). An administrator can make an exception for one
name:

  --as local     the name may be published here although an upstream has
                 it (a deliberate fork); upstream versions of it are never
                 served.
  --as upstream  the name is served from upstreams although its namespace is
                 local (an npm scope or Go module path with local packages).

Exceptions are public (trove upstream list) and recorded in the transparency
log. The command talks to a running server (--url, default $TROVE_URL) with
an administrator's API token in $TROVE_TOKEN.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if as != "local" && as != "upstream" {
				return hinted{fmt.Errorf("--as %q is not local or upstream", as), "give --as local (a fork published here) or --as upstream"}
			}
			token, err := apiToken("publish")
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"as": as, "reason": reason})
			if _, err := callAPI(cmd.Context(), http.MethodPut, exceptionURL(registryURL, args[0], args[1]), token, registryURL, body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trove: %s %s is now %s\n", args[0], args[1], as)
			return nil
		},
	}
	allow.Flags().StringVar(&as, "as", "", "local or upstream (required)")
	allow.Flags().StringVar(&reason, "reason", "", "why (public, in the transparency log)")
	remove := &cobra.Command{
		Use:   "remove ECOSYSTEM NAME [--reason TEXT]",
		Short: "Remove a name's exception",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("publish")
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"reason": reason})
			if _, err := callAPI(cmd.Context(), http.MethodDelete, exceptionURL(registryURL, args[0], args[1]), token, registryURL, body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trove: %s %s has no exception any more\n", args[0], args[1])
			return nil
		},
	}
	remove.Flags().StringVar(&reason, "reason", "", "why (public, in the transparency log)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the exceptions administrators made",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := callAPI(cmd.Context(), http.MethodGet, strings.TrimRight(registryURL, "/")+"/api/v1/upstream/exceptions", "", registryURL, nil)
			if err != nil {
				return err
			}
			var out struct {
				Exceptions []struct {
					Ecosystem, Name, As, Reason, By string
					At                              time.Time
				}
			}
			if err := json.Unmarshal(b, &out); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ECOSYSTEM\tNAME\tAS\tBY\tAT\tREASON")
			for _, e := range out.Exceptions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Ecosystem, e.Name, e.As, e.By, e.At.Format(time.DateOnly), e.Reason)
			}
			return tw.Flush()
		},
	}
	for _, c := range []*cobra.Command{allow, remove, list} {
		c.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	}
	up.AddCommand(allow, remove, list, newUpstreamDetect())
	return up
}

// exceptionURL is the API URL of a name's upstream exception.
func exceptionURL(server, eco, name string) string {
	return strings.TrimRight(server, "/") + "/api/v1/upstream/exceptions/" + url.PathEscape(eco) + "/" + url.PathEscape(name)
}
