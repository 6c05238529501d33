package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/translog"
)

func newLogCmd(g *globals) *cobra.Command {
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
	cmd.AddCommand(key)
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
