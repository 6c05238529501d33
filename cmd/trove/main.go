// Command trove is the Trove package registry: the server and the tools to
// administer and verify it.
//
// Errors go to standard error, prefixed "trove:", in lower case, with a
// hint where a common mistake is likely. Commands that print a secret (token
// create) print only the secret on standard output.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "trove:", err)
		var h hinted
		if errors.As(err, &h) {
			fmt.Fprintln(os.Stderr, "trove: hint:", h.hint)
		}
		os.Exit(1)
	}
}

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// globals are the flags every command takes.
type globals struct {
	config string
	data   string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "trove",
		Short:         "Trove, a secure package registry for npm, PyPI and Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.config, "config", os.Getenv("TROVE_CONFIG"), "TOML config file (env TROVE_CONFIG)")
	root.PersistentFlags().StringVar(&g.data, "data", "", "data directory (default ./trove-data; env TROVE_DATA_DIR)")
	root.AddCommand(newServe(g), newAdmin(g), newAccountCmd(g), newToken(g), newYank(g), newDelete(g), newReport(g), newOwner(g), newOrg(g), newConfigCmd(g), newLogCmd(g),
		newPublish(g), newVerify(g), newFsck(g), newBackup(g), newRestore(g), newVersion(),
		newMigrate(g), newMigrateStorage(g), newUpstream(g), newMirror(),
		newPolicy(g), newApprove(g), newAudit(), newDeny(g), newAllow(g), newCurator(g), newPackageCmd(g), newPublisher(g), newScanCmd(g), newMalware(g))
	refuseUnknown(root)
	return root
}

// refuseUnknown makes every command that only groups subcommands print
// its help when called alone and fail on an unknown subcommand (cobra
// would print the help and exit 0, so a typo in a script goes unnoticed).
func refuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknown(c)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		hint := "run " + cmd.CommandPath() + " --help to see its commands"
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = "did you mean " + cmd.CommandPath() + " " + strings.Join(s, " or ") + "?"
		}
		return hinted{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), hint}
	}
}
