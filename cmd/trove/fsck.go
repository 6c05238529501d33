package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
)

// errDamage reports that fsck found damage.
var errDamage = errors.New("stored files are damaged")

func newFsck(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "fsck",
		Short: "Check every stored file against its sha256, and take damaged ones out of service",
		Long: `fsck reads every blob of every visible file (and the metadata extracted from it),
checks it against its sha256, and lists files whose bytes are missing or wrong. A damaged
blob is moved to the blob store's damaged/ directory: downloads of it then answer 503
"damaged" instead of wrong bytes. Versions are immutable, so the cure is the original
bytes from a backup: put them back at blobs/sha256/<ab>/<digest> (and remove
blobs/damaged/<digest>); on the s3 backend, the same keys under the bucket's prefix.

It works on the data directory, beside a running server, and exits with status 1 if it
found damage. trove serve runs the same check every storage.scrub_interval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				store, err := openBlobs(cmd.Context(), c)
				if err != nil {
					return err
				}
				return fsck(cmd.Context(), db, store, cmd.OutOrStdout())
			})
		},
	}
}

// fsck scrubs every blob, printing each damaged file and a summary.
func fsck(ctx context.Context, db *meta.DB, store blob.Store, out io.Writer) error {
	start := time.Now()
	st, err := registry.Scrub(ctx, db, store, 0, func(d registry.Damage) {
		what := "damaged (taken out of service)"
		if d.Missing {
			what = "missing"
		}
		fmt.Fprintf(out, "%s\t%s %s %s\tsha256 %s\n", what, d.Ecosystem, d.Package, d.Filename, d.Digest)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "checked %d files, %d blobs, %d bytes in %s: %d damaged or missing\n",
		st.Files, st.Blobs, st.Bytes, time.Since(start).Round(time.Millisecond), st.Damaged)
	if st.Damaged > 0 {
		return hinted{fmt.Errorf("%w: %d", errDamage, st.Damaged),
			"restore the listed files' original bytes from a backup; until then their downloads answer 503"}
	}
	return nil
}

// scrubEvery runs a scrub of the stored files every interval until ctx
// ends, logging what it finds.
func scrubEvery(ctx context.Context, c *config.Config, s *stack) {
	every := c.Storage.ScrubInterval.Std()
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		st, err := registry.Scrub(ctx, s.db, s.blobStore, int64(c.Storage.ScrubRate), func(d registry.Damage) {
			slog.Error("scrub: a stored file is damaged or missing; its downloads answer 503 until it is restored",
				"ecosystem", d.Ecosystem, "package", d.Package, "file", d.Filename, "sha256", string(d.Digest), "missing", d.Missing)
		})
		if err != nil && ctx.Err() == nil {
			slog.Error("scrub stopped", "err", err)
			continue
		}
		slog.Info("scrub done", "files", st.Files, "blobs", st.Blobs, "bytes", st.Bytes, "damaged", st.Damaged,
			"took", time.Since(start).Round(time.Second))
	}
}
