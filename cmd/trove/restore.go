package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/backup"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
)

// restoreFlags are trove restore's options.
type restoreFlags struct {
	in                        string
	verifyBlobs, allowMissing bool
}

func newRestore(g *globals) *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore --in FILE [--verify-blobs] [--allow-missing-blobs]",
		Short: "Restore a backup into an empty database, checking everything in it",
		Long: `restore loads a backup made by trove backup into the configured database, which
must be empty (a new data directory, or a new PostgreSQL database). It checks every
part's SHA-256 and row count, recomputes the transparency log from its records and
checks it against the signed checkpoint in the backup, and checks that the blob
store holds every blob the backup references, with the right size (--verify-blobs
re-reads and re-hashes each one). Missing blobs are listed, and nothing is restored
unless --allow-missing-blobs is given. Any other failure restores nothing.

It never signs anything. If the blob store or the data directory keeps a checkpoint
newer than the backup, it says so: the server then starts read-only until
trove log recover has brought back the missing records.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.in == "" {
				return hinted{errors.New("no backup file"), "give --in FILE, a file written by trove backup"}
			}
			a, err := backup.Open(f.in)
			if err != nil {
				return err
			}
			defer a.Close()
			return withStores(cmd.Context(), g, func(c *config.Config, db *meta.DB, store blob.Store) error {
				return runRestore(cmd, c, db, store, a, f)
			})
		},
	}
	cmd.Flags().StringVar(&f.in, "in", "", "backup file to restore")
	cmd.Flags().BoolVar(&f.verifyBlobs, "verify-blobs", false, "re-read every blob and check its sha256, not only its size")
	cmd.Flags().BoolVar(&f.allowMissing, "allow-missing-blobs", false, "restore even if blobs are missing (they stay listed, and trove fsck reports them)")
	return cmd
}

func runRestore(cmd *cobra.Command, c *config.Config, db *meta.DB, store blob.Store, a *backup.Archive, f restoreFlags) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	trusted, err := translog.LoadVerifierKey(c.KeyDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cps, err := keptCheckpoints(ctx, c, store)
	if err != nil {
		return err
	}
	rep, err := backup.Restore(ctx, a, backup.RestoreOptions{
		DB: db, Blobs: store, VerifierKey: trusted, Checkpoints: cps,
		VerifyBlobs: f.verifyBlobs, AllowMissingBlobs: f.allowMissing,
		Missing: func(b *backup.Blob, problem string) { printMissing(out, b, problem) },
	})
	switch {
	case errors.Is(err, backup.ErrNotEmpty):
		return hinted{err, "point --data (or database.path) at a new, empty database"}
	case errors.Is(err, backup.ErrMissingBlobs):
		return hinted{err, "copy the blob store from the backed-up server (or its own backup) and run restore again; --allow-missing-blobs restores without them"}
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "restored %d rows; log of %d records (root %v) extends the backup's signed checkpoint of %d\n", rep.Rows, rep.Log.N, rep.Log.Hash, rep.Signed)
	fmt.Fprintf(out, "blobs: %d checked (%d bytes), %d missing or wrong, %d of them required\n", rep.Blobs, rep.BlobBytes, rep.Missing, rep.MissingNeeds)
	if err := installKeys(cmd.ErrOrStderr(), c, a); err != nil {
		return err
	}
	if rep.Newer != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "trove: warning: %s signs a log of %d records, newer than this backup's %d: records acknowledged after the backup are missing; the server will refuse writes until they are recovered\n",
			rep.Newer.Source, rep.NewerSize, rep.Log.N)
		fmt.Fprintln(cmd.ErrOrStderr(), "trove: hint: run trove log recover to rebuild them from a mirror of the public log and the blob store")
	}
	return nil
}

func printMissing(w io.Writer, b *backup.Blob, problem string) {
	var refs []string
	for _, r := range b.Refs {
		refs = append(refs, fmt.Sprintf("%s %s %s (%s %s)", r.Ecosystem, r.Package, r.Filename, r.Role, r.State))
	}
	need := "required"
	if !b.Required {
		need = "not required"
	}
	fmt.Fprintf(w, "blob %s: %s, %s; referenced by %s\n", b.Digest, problem, need, strings.Join(refs, ", "))
}

// installKeys puts the backup's log keys in the data directory where it
// has none, and warns when the signing key is still missing: without it
// trove serve would make a new key, which clients of the old log refuse.
func installKeys(stderr io.Writer, c *config.Config, a *backup.Archive) error {
	dir := c.KeyDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating log key directory: %w", err)
	}
	vkey, err := a.VerifierKey()
	if err != nil {
		return err
	}
	skey, err := a.SigningKey()
	if err != nil {
		return err
	}
	for _, k := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{{"verifier.key", vkey, 0o644}, {"signer.key", skey, 0o600}} {
		path := filepath.Join(dir, k.name)
		if _, err := os.Stat(path); err == nil || k.data == nil {
			continue
		}
		if err := translog.WriteFileAtomic(path, k.data, k.perm); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "signer.key")); err != nil {
		fmt.Fprintf(stderr, "trove: warning: no log signing key in %s\n", dir)
		fmt.Fprintf(stderr, "trove: hint: copy signer.key from the backed-up server's %s directory there before trove serve; without it the server makes a new key and clients that trust the old log refuse it\n", filepath.Base(dir))
	}
	return nil
}
