package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/backup"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
)

func newBackup(g *globals) *cobra.Command {
	var out string
	var signingKey bool
	cmd := &cobra.Command{
		Use:   "backup --out FILE [--include-signing-key]",
		Short: "Write a consistent backup of the database and the log's signed state, beside a running server",
		Long: `backup writes FILE, a zip archive of every table of the metadata database read
in one snapshot, the transparency log's public key and newest signed checkpoint,
and a manifest of the blobs the database references. It runs beside trove serve.

Blob bytes are not in it: copy the blob store by its own means after the backup
finishes (blobs are immutable and content-addressed, so a later copy holds every
blob the backup references). trove restore checks that they are all there.

The log's signing key is left out unless --include-signing-key is given: keep it
apart from the backups, or a stolen backup can sign a forged log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return hinted{errors.New("no output file"), "give --out FILE"}
			}
			return withStores(cmd.Context(), g, func(c *config.Config, db *meta.DB, store blob.Store) error {
				return runBackup(cmd, c, db, store, out, signingKey)
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the backup to (must not exist)")
	cmd.Flags().BoolVar(&signingKey, "include-signing-key", false, "include the log's private signing key (keep such a backup secret)")
	return cmd
}

// withStores runs fn with the configured database and blob store.
func withStores(ctx context.Context, g *globals, fn func(c *config.Config, db *meta.DB, store blob.Store) error) error {
	return withDB(ctx, g, func(c *config.Config, db *meta.DB) error {
		store, err := openBlobs(ctx, c)
		if err != nil {
			return err
		}
		return fn(c, db, store)
	})
}

func runBackup(cmd *cobra.Command, c *config.Config, db *meta.DB, store blob.Store, out string, signingKey bool) error {
	ctx := cmd.Context()
	if _, err := os.Lstat(out); err == nil {
		return hinted{fmt.Errorf("%s already exists", out), "choose a new file name; a backup never overwrites one"}
	}
	vkey, err := translog.LoadVerifierKey(c.LogDir())
	if errors.Is(err, os.ErrNotExist) {
		return hinted{fmt.Errorf("no transparency log key in %s", c.LogDir()), "is --data the server's data directory? trove serve makes the key on its first start"}
	}
	if err != nil {
		return err
	}
	cps, err := keptCheckpoints(ctx, c, store)
	if err != nil {
		return err
	}
	o := backup.Options{DB: db, Blobs: store, VerifierKey: vkey, Checkpoints: cps, Now: time.Now()}
	if signingKey {
		if o.SigningKey, err = os.ReadFile(filepath.Join(c.LogDir(), "signer.key")); err != nil {
			return fmt.Errorf("reading the log's signing key: %w", err)
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "trove: warning: the backup holds the log's private signing key: whoever reads it can sign a log clients trust; keep it secret")
	}
	m, err := writeAtomic(out, func(w io.Writer) (*backup.Manifest, error) { return backup.Write(ctx, w, o) })
	if err != nil {
		if errors.Is(err, backup.ErrBehind) {
			return hinted{err, "this database is older than the log it published; see trove log recover, and back up the recovered database"}
		}
		return err
	}
	printManifest(cmd.OutOrStdout(), out, m)
	return nil
}

// keptCheckpoints returns the signed checkpoints kept outside the
// database: the blob store's state object, and the data directory's file.
func keptCheckpoints(ctx context.Context, c *config.Config, store blob.Store) ([]backup.Checkpoint, error) {
	var out []backup.Checkpoint
	b, err := store.ReadState(ctx, "checkpoint")
	switch {
	case err == nil:
		out = append(out, backup.Checkpoint{Source: "the blob store's state object checkpoint", Note: b})
	case !errors.Is(err, blob.ErrNotFound):
		return nil, fmt.Errorf("reading the log's checkpoint from the blob store: %w", err)
	}
	path := filepath.Join(c.LogDir(), "checkpoint")
	b, err = os.ReadFile(path)
	switch {
	case err == nil:
		out = append(out, backup.Checkpoint{Source: path, Note: b})
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading the log's checkpoint: %w", err)
	}
	return out, nil
}

// writeAtomic runs write on a temporary file beside path, syncs it and
// renames it to path, so that path is a complete backup or nothing.
func writeAtomic(path string, write func(io.Writer) (*backup.Manifest, error)) (*backup.Manifest, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("writing backup: %w", err)
	}
	defer os.Remove(f.Name())
	m, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return nil, fmt.Errorf("writing backup %s: %w", path, err)
	}
	return m, nil
}

func printManifest(w io.Writer, path string, m *backup.Manifest) {
	var rows int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(w, "wrote %s: %d rows in %d tables (schema version %d)\n", path, rows, len(m.Tables), m.Schema)
	fmt.Fprintf(w, "log %s: %d records, checkpoint of %d signed by key %s\n", m.Log.Origin, m.Log.Records, m.Log.Signed, m.Log.KeyHash)
	fmt.Fprintf(w, "blobs: %d referenced (%d bytes), %d required; copy the blob store separately\n", m.Blobs.Count, m.Blobs.Bytes, m.Blobs.Required)
	if m.Blobs.Missing > 0 {
		fmt.Fprintf(w, "warning: %d metadata blobs were missing from the blob store (run trove fsck)\n", m.Blobs.Missing)
	}
}
