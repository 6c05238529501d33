package main

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/config"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show and check the configuration"}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as TOML (after the file and TROVE_* variables)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if err := finish(&c); err != nil {
				return err
			}
			return toml.NewEncoder(cmd.OutOrStdout()).Encode(c)
		},
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "List the environment variables that override settings",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(config.EnvVars(), "\n"))
		},
	}
	cmd.AddCommand(show, env)
	return cmd
}
