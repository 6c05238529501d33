package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/translog"
)

func newLogCmd(g *globals) *cobra.Command {
	var keyOnly bool
	cmd := &cobra.Command{Use: "log", Short: "The transparency log of every public state change"}
	key := &cobra.Command{
		Use:   "key",
		Short: "Print the log's public verifier key (creating the key pair on first use)",
		Long: `Print the transparency log's public verifier key, in the signed-note format
(<name>+<hash>+<key>). Give it to clients that verify the log (trove verify,
the go command through GOSUMDB, auditors). The server also serves it at
<base_url>/log/key.`,
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
		Use:   "gosumdb",
		Short: "Print the GOSUMDB value that makes the go command verify modules with this server",
		Long: `Print the value of GOSUMDB for the go command: the log's verifier key and the
URL of the checksum database the server derives from the log,
<base_url>/go/sumdb/<name>. Use it with GOPROXY=<base_url>/go:

	export GOPROXY=<base_url>/go
	export GOSUMDB="$(trove log gosumdb)"

With --key-only it prints just the key: the go command then finds the
database through GOPROXY (<base_url>/go/sumdb/<name>/supported).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if err := finish(&c); err != nil {
				return err
			}
			_, vkey, err := translog.LoadOrCreateKey(c.LogDir(), c.Transparency.Name)
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
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s/go/sumdb/%s\n", vkey, c.BaseURL, v.Name())
			return nil
		},
	}
	gosumdb.Flags().BoolVar(&keyOnly, "key-only", false, "print only the key (the database is then reached through GOPROXY)")
	cmd.AddCommand(key, gosumdb)
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
