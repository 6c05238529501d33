package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// heldNotice tells the publisher and the owners of a held upload, each by
// a security event and its mail, and the administrators who must decide,
// in the transaction that holds it.
func heldNotice(n *account.Notifications) registry.HoldNotice {
	return func(ctx context.Context, tx *meta.Tx, h registry.HeldUpload) error {
		held := account.Held{Ecosystem: string(h.Package.Ecosystem), Package: h.Package.DisplayName,
			Version: h.Version, Publisher: h.Publisher, Why: h.Message, Rejected: h.Rejected}
		for _, id := range h.UserIDs {
			if err := n.HeldTx(ctx, tx, id, held); err != nil {
				return err
			}
		}
		if h.Rejected {
			return nil // nothing for the administrators to decide
		}
		return n.HeldAdminsTx(ctx, tx, held, h.UserIDs)
	}
}

// newAdminHeld is trove admin held.
func newAdminHeld(g *globals) *cobra.Command {
	held := &cobra.Command{
		Use:   "held",
		Short: "List, release and reject uploads held for review (the worm guard, scanners)",
		Long: `Uploads held for review are invisible: the worm guard holds the later uploads
of one credential that published new versions of many packages in a short
time (policy.burst_packages in policy.burst_window), and scanners may hold
an upload. Their publishers and the packages' owners were emailed.

  list     what is held, oldest first, with why
  release  publish a held upload exactly as it was uploaded, with its dist-tags
  reject   discard it: its version and filenames become free again

The commands work on the data directory, beside a running server, which
sees a release within a second.`,
	}
	held.AddCommand(&cobra.Command{
		Use: "list", Short: "List the uploads held for review", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				hs, err := db.HeldReleases(cmd.Context(), registry.MaxHeldListed)
				if err != nil {
					return err
				}
				if len(hs) == 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "trove: nothing is held for review")
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ECOSYSTEM\tNAME\tVERSION\tHELD\tREASON\tPUBLISHER\tTOKEN")
				for _, h := range hs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Ecosystem, h.DisplayName, h.Version, h.At.Format(time.RFC3339),
						h.Reason, orDash(h.Publisher), orDash(h.Token))
				}
				if err := w.Flush(); err != nil {
					return err
				}
				for _, h := range hs {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s: %s\n", h.Ecosystem, h.DisplayName, h.Version, h.Message)
				}
				return nil
			})
		},
	})
	act := func(use, short, done string, fn func(ctx context.Context, reg *registry.Service, eco trove.Ecosystem, name, version string) error) *cobra.Command {
		return &cobra.Command{
			Use: use + " ECOSYSTEM NAME VERSION", Short: short, Args: cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
					reg, err := adminRegistry(cmd.Context(), c, db)
					if err != nil {
						return err
					}
					if err := fn(cmd.Context(), reg, trove.Ecosystem(args[0]), args[1], args[2]); err != nil {
						if errors.Is(err, trove.ErrNotFound) {
							return hinted{err, "list what is held with: trove admin held list"}
						}
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s %s %s %s\n", done, args[0], args[1], args[2])
					return nil
				})
			},
		}
	}
	held.AddCommand(
		act("release", "Publish a held upload as it was uploaded", "released; now visible:",
			func(ctx context.Context, reg *registry.Service, eco trove.Ecosystem, name, version string) error {
				_, err := reg.ReleaseHeld(ctx, eco, name, version)
				return err
			}),
		act("reject", "Discard a held upload; its version becomes free again", "rejected and discarded:",
			func(ctx context.Context, reg *registry.Service, eco trove.Ecosystem, name, version string) error {
				return reg.RejectHeld(ctx, eco, name, version)
			}))
	return held
}

// adminRegistry builds the registry as trove serve has it, with the
// transparency log that releases append to, for commands on the data
// directory.
func adminRegistry(ctx context.Context, c *config.Config, db *meta.DB) (*registry.Service, error) {
	blobs, err := openBlobs(ctx, c)
	if err != nil {
		return nil, err
	}
	l, err := openLog(ctx, c, db, blobs)
	if err != nil {
		return nil, err
	}
	return registry.New(registry.Config{DB: db, Blobs: blobs, Rules: ecosystemRules(), TempDir: c.TempDir(), Log: l})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
