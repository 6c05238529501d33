package main

import (
	"bytes"
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
			token := os.Getenv("TROVE_TOKEN")
			if token == "" {
				return hinted{errors.New("no API token: set TROVE_TOKEN"), "create one with: trove token create --user NAME --scope ECOSYSTEM:NAME --action yank"}
			}
			u := strings.TrimRight(registryURL, "/") + "/api/v1/packages/" + url.PathEscape(args[0]) + "/" +
				url.PathEscape(args[1]) + "/" + url.PathEscape(args[2]) + "/yank"
			method, body := http.MethodPost, []byte(nil)
			if undo {
				method = http.MethodDelete
			} else {
				body, _ = json.Marshal(map[string]string{"reason": reason})
			}
			req, err := http.NewRequestWithContext(cmd.Context(), method, u, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return hinted{err, "is the server running at " + registryURL + "? set --url or TROVE_URL"}
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusOK {
				var e struct{ Error string }
				if json.Unmarshal(b, &e) == nil && e.Error != "" {
					return fmt.Errorf("%s: %s", resp.Status, e.Error)
				}
				return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
			}
			verb := "yanked"
			if undo {
				verb = "unyanked"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s %s %s\n", verb, args[0], args[1], args[2])
			return nil
		},
	}
	def := os.Getenv("TROVE_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the release is yanked (shown to installers)")
	cmd.Flags().BoolVar(&undo, "undo", false, "unyank instead")
	cmd.Flags().StringVar(&registryURL, "url", def, "server URL (env TROVE_URL)")
	return cmd
}
