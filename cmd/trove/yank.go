package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newYank(g *globals) *cobra.Command {
	var reason, registryURL string
	var undo bool
	cmd := &cobra.Command{
		Use:   "yank ECOSYSTEM NAME VERSION [--reason TEXT] [--undo]",
		Short: "Yank a release (or unyank it with --undo) through a server's API",
		Long: `Yank a release: installers stop choosing it unless it is pinned exactly
(PEP 592 for PyPI). --undo reverses it. The command talks to a running server
(--url, default $TROVE_URL or http://127.0.0.1:8080) with the API token in
$TROVE_TOKEN, which needs the yank action on the package.`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("yank")
			if err != nil {
				return err
			}
			method, body, verb := http.MethodPost, []byte(nil), "yanked"
			if undo {
				method, verb = http.MethodDelete, "unyanked"
			} else {
				body, _ = json.Marshal(map[string]string{"reason": reason})
			}
			if _, err := callAPI(cmd.Context(), method, packageURL(registryURL, args[0], args[1], args[2], "yank"), token, registryURL, body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s %s %s\n", verb, args[0], args[1], args[2])
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the release is yanked (shown to installers)")
	cmd.Flags().BoolVar(&undo, "undo", false, "unyank instead")
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	return cmd
}

func newDelete(g *globals) *cobra.Command {
	var registryURL, reason string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ECOSYSTEM NAME VERSION [--yes]",
		Short: "Delete a release through a server's API, for good",
		Long: `Delete a release: it disappears from every index and download (Go's proxy
answers 410 Gone), while its version and filenames stay taken forever, so the
same version can never be published again with other bytes. The deletion is
recorded in the transparency log. Owners may delete within the unpublish
window after publishing (policy.unpublish_window, 72h by default), and only
while no other package in the registry depends on that version; otherwise only
administrators may (giving --reason, which goes into the transparency log,
when others depend on it): yank or deprecate instead.

The command asks for confirmation on standard input; --yes skips the
question (for scripts). It talks to a running server (--url, default
$TROVE_URL or http://127.0.0.1:8080) with the API token in $TROVE_TOKEN,
which needs the yank action on the package.`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := apiToken("yank")
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: delete %s %s %s for good? It disappears from every index and download, "+
					"and version %s can never be published again. [y/N] ", args[0], args[1], args[2], args[2])
				if !confirmed(cmd.InOrStdin()) {
					fmt.Fprintln(cmd.ErrOrStderr())
					return hinted{fmt.Errorf("not deleted: %s %s %s was not confirmed", args[0], args[1], args[2]),
						"answer y to delete it, or pass --yes to delete without asking; yanking (trove yank) hides a release without deleting it"}
				}
			}
			var body []byte
			if reason != "" {
				body, _ = json.Marshal(map[string]string{"reason": reason})
			}
			if _, err := callAPI(cmd.Context(), http.MethodDelete, packageURL(registryURL, args[0], args[1], args[2]), token, registryURL, body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: deleted %s %s %s; the version stays taken\n", args[0], args[1], args[2])
			return nil
		},
	}
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking for confirmation")
	cmd.Flags().StringVar(&reason, "reason", "", "why the release is deleted (recorded in the transparency log)")
	return cmd
}

// confirmed reads one line of an answer and reports whether it is yes.
func confirmed(r io.Reader) bool {
	line, _ := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
