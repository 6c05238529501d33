package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/translog"
)

func newLogCmd(g *globals) *cobra.Command {
	var keyOnly bool
	var serverURL, key, keyFile string
	cmd := &cobra.Command{Use: "log", Short: "The transparency log of every public state change"}
	keyCmd := &cobra.Command{
		Use:   "key",
		Short: "Print the log's public verifier key (creating the key pair on first use)",
		Long: `Print the transparency log's public verifier key, in the signed-note format
(<name>+<hash>+<key>), from the data directory. Give it to clients that
verify the log (trove verify, the go command through GOSUMDB, auditors).
The server also serves it at <base_url>/log/key, but a key fetched from the
server being checked proves nothing: hand it out another way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if err := finish(&c); err != nil {
				return err
			}
			return printKey(cmd, &c)
		},
	}
	gosumdb := &cobra.Command{
		Use:   "gosumdb [--url URL] [--key-only]",
		Short: "Print the GOSUMDB value that makes the go command verify modules with a server",
		Long: `Print the value of GOSUMDB for the go command: the log's verifier key and the
URL of the checksum database the server derives from the log,
<url>/go/sumdb/<name>. Use it with GOPROXY=<url>/go:

	export TROVE_URL=http://127.0.0.1:8080
	export GOPROXY=$TROVE_URL/go
	export GOSUMDB="$(trove log gosumdb)"

With --url or TROVE_URL, the command asks that running server for its key
and checks that it is the key you trust: --key, --key-file or TROVE_LOG_KEY,
else the key in the data directory (on the server's own machine). It then
checks that the server serves the checksum database. So the value works on
whatever address and port the server listens on, and a server with another
key is refused. Without a URL, it prints the data directory's key with the
configured base_url.

With --key-only it prints just the key: the go command then finds the
database through GOPROXY (<url>/go/sumdb/<name>/supported).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if err := finish(&c); err != nil {
				return err
			}
			var vkey, base string
			if serverURL == "" {
				_, vkey, err = translog.LoadOrCreateKey(c.LogDir(), c.Transparency.Name)
				base = c.BaseURL
			} else {
				base = strings.TrimRight(serverURL, "/")
				vkey, err = serverKey(cmd.Context(), &c, base, key, keyFile)
			}
			if err != nil {
				return err
			}
			if keyOnly {
				fmt.Fprintln(cmd.OutOrStdout(), vkey)
				return nil
			}
			v, err := note.NewVerifier(vkey)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s/go/sumdb/%s\n", vkey, base, v.Name())
			return nil
		},
	}
	gosumdb.Flags().BoolVar(&keyOnly, "key-only", false, "print only the key (the database is then reached through GOPROXY)")
	gosumdb.Flags().StringVar(&serverURL, "url", os.Getenv("TROVE_URL"), "ask the server at this URL (env TROVE_URL); default: the data directory and base_url")
	gosumdb.Flags().StringVar(&key, "key", "", "the key you trust, <origin>+<hash>+<key> (env TROVE_LOG_KEY); default: the data directory's")
	gosumdb.Flags().StringVar(&keyFile, "key-file", "", "file holding the key you trust")
	cmd.AddCommand(keyCmd, gosumdb, newLogRecover(g))
	return cmd
}

func printKey(cmd *cobra.Command, c *config.Config) error {
	_, vkey, err := translog.LoadOrCreateKey(c.LogDir(), c.Transparency.Name)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), vkey)
	return nil
}

// serverTimeout bounds each request log gosumdb makes.
const serverTimeout = 30 * time.Second

// serverKey asks the server at base for its log's verifier key, checks
// that it is the trusted one (given, or the data directory's) and that the
// server serves the checksum database named after it, and returns it.
func serverKey(ctx context.Context, c *config.Config, base, key, keyFile string) (string, error) {
	trusted, err := readKey(key, keyFile)
	if err != nil {
		return "", err
	}
	source := "the key you gave"
	if trusted == "" {
		trusted, err = translog.LoadVerifierKey(c.LogDir())
		if errors.Is(err, os.ErrNotExist) {
			return "", hinted{fmt.Errorf("no log verifier key to check %s's against: give --key, --key-file or TROVE_LOG_KEY, or --data with the server's data directory (trusting the key the server sends is not verification)", base),
				"get the key from the registry's operator, who prints it with: trove log key"}
		}
		if err != nil {
			return "", err
		}
		source = "the key in " + c.LogDir()
	}
	if _, err := note.NewVerifier(trusted); err != nil {
		return "", hinted{fmt.Errorf("log verifier key: %w", err), "the key looks like <origin>+<8 hex digits>+<base64>, as trove log key prints it"}
	}
	client := &http.Client{Timeout: serverTimeout}
	body, err := getText(ctx, client, base+"/log/key")
	if err != nil {
		return "", err
	}
	served := strings.TrimSpace(body)
	if served != trusted {
		return "", hinted{fmt.Errorf("the server at %s signs its log with the key %s, not with %s (%s)", base, served, trusted, source),
			"is --url the server whose key you hold? a server whose key changed is not the registry you trusted; ask its operator"}
	}
	v, _ := note.NewVerifier(trusted)
	if _, err := getText(ctx, client, base+"/go/sumdb/"+v.Name()+"/supported"); err != nil {
		return "", hinted{fmt.Errorf("the server at %s does not serve the checksum database %s: %w", base, v.Name(), err),
			"is --url the server's address, without a path such as /go?"}
	}
	return trusted, nil
}

// getText fetches a small text document and fails on any answer but 200.
func getText(ctx context.Context, client *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", hinted{err, "is the server running there? set --url or TROVE_URL"}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", u, resp.Status)
	}
	return string(b), nil
}
