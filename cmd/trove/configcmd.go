package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/translog"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show and check the configuration"}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the configuration the server would use, as TOML",
		Long: `Print the configuration the server would use, as TOML: the defaults, then
the file (--config or TROVE_CONFIG), then TROVE_* variables, with derived
settings filled in (paths under data_dir, base_url, the log's name). Sizes
and durations are written in the units the documentation uses (128MiB, 72h,
90d). The transparency log's name is the one of its existing key, which is
fixed when the key is made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, notes, err := effectiveConfig(g)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "trove: note:", n)
			}
			return toml.NewEncoder(cmd.OutOrStdout()).Encode(c)
		},
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration: every problem at once, and warnings",
		Long: `Check the configuration as the server would when it starts, reporting every
problem at once, and warn about settings that are valid but likely wrong
(a security.txt expiry that has passed or is near, a log name that differs
from the log key's). Exits non-zero when the server would refuse to start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, notes, err := effectiveConfig(g)
			if err != nil {
				return err
			}
			if _, _, err := popularNames(&c); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			for _, w := range append(notes, c.Warnings(time.Now())...) {
				fmt.Fprintln(cmd.ErrOrStderr(), "trove: warning:", w)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: the configuration is valid (serving %s from %s)\n", c.BaseURL, c.DataDir)
			return nil
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
	cmd.AddCommand(show, check, env)
	return cmd
}

// effectiveConfig loads, finishes and validates the configuration and
// replaces the log's name by the name of its existing key, if there is
// one, with a note when the setting says otherwise.
func effectiveConfig(g *globals) (config.Config, []string, error) {
	c, err := loadConfig(g)
	if err != nil {
		return c, nil, err
	}
	if err := finish(&c); err != nil {
		return c, nil, err
	}
	var notes []string
	vkey, err := translog.LoadVerifierKey(c.KeyDir())
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The first start makes the key with the configured name.
	case err != nil:
		return c, nil, err
	default:
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return c, nil, err
		}
		if v.Name() != c.Transparency.Name {
			notes = append(notes, fmt.Sprintf("the transparency log is named %s, the name of its key in %s, made at the first start; "+
				"the name %s from the configuration has no effect", v.Name(), c.KeyDir(), c.Transparency.Name))
		}
		c.Transparency.Name = v.Name()
	}
	return c, notes, nil
}
