package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/transfer"
	"github.com/trove-dev/trove/internal/translog"
)

// storageFlags are trove migrate-storage's options.
type storageFlags struct {
	to                 string
	dryRun, verifyOnly bool
	sourceStopped      bool
}

func newMigrateStorage(g *globals) *cobra.Command {
	var f storageFlags
	cmd := &cobra.Command{
		Use:   "migrate-storage --to CONFIG [--dry-run] [--verify-only]",
		Short: "Move this install's database and blobs to the stores another configuration names (SQLite + files to PostgreSQL + S3)",
		Long: `migrate-storage copies everything of the configured install (the source) to the
database and blob store that the configuration file CONFIG names (the target):
every blob the database references (checked against its sha256 as it is stored;
blobs the target already holds with the right size are skipped, so running it
again resumes), every table into the target database, which must be empty (it
is migrated first), in one transaction, the transparency log's state objects,
and the log's keys into the target's data directory (data_dir, which defaults to
the source's). Then it verifies the copy: each table's rows and content hash on
both sides, every blob re-read from the target and hashed, and the log recomputed
on both sides and matched against the signed checkpoint.

Stop trove serve on the source first: the copy is made from one snapshot, and
the verification fails if the source changed meanwhile. migrate-storage refuses
to run while a server answers at the source's listen address (--source-stopped
skips that probe). The TROVE_* environment applies to the source only.

--dry-run checks both sides and reports what would be copied, changing nothing;
--verify-only only compares an earlier copy with its source.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.to == "" {
				return hinted{errors.New("no target configuration"), "give --to FILE, a trove configuration naming the new database and blob store"}
			}
			return migrateStorage(cmd.Context(), cmd.OutOrStdout(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.to, "to", "", "configuration file of the target (database, storage, data_dir)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "check both sides and report what would be copied; change nothing")
	cmd.Flags().BoolVar(&f.verifyOnly, "verify-only", false, "only verify an earlier copy against its source")
	cmd.Flags().BoolVar(&f.sourceStopped, "source-stopped", false, "do not probe the source's listen address for a running server")
	return cmd
}

// storageSides are the opened source and target of a migration.
type storageSides struct {
	src, dst config.Config
	opts     transfer.Options
	closers  []io.Closer
}

func (s *storageSides) Close() {
	for _, c := range s.closers {
		c.Close()
	}
}

func migrateStorage(ctx context.Context, out io.Writer, g *globals, f storageFlags) error {
	sides, err := openSides(ctx, out, g, f)
	if sides != nil {
		defer sides.Close()
	}
	if err != nil {
		return err
	}
	o := sides.opts
	if !f.verifyOnly {
		if err := copyStorage(ctx, out, sides, f.dryRun); err != nil || f.dryRun {
			return err
		}
	}
	v, err := transfer.Verify(ctx, o)
	if err != nil {
		return err
	}
	for _, p := range v.Problems {
		fmt.Fprintln(out, "mismatch: "+p)
	}
	if err := v.Err(); err != nil {
		return hinted{err, "the target is not a faithful copy: if the source changed, stop its server; drop the target database and run migrate-storage again (blobs already copied are kept)"}
	}
	fmt.Fprintf(out, "verified: the target holds every row, blob and log record of the source; serve it with trove serve --config %s\n", f.to)
	return nil
}

func copyStorage(ctx context.Context, out io.Writer, sides *storageSides, dryRun bool) error {
	o := sides.opts
	if !dryRun {
		if _, err := o.To.DB.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating the target database: %w", err)
		}
	}
	// The keys first: everything before the rows' commit can run again.
	if err := placeKeys(out, &sides.src, &sides.dst, dryRun); err != nil {
		return err
	}
	rep, err := transfer.Copy(ctx, o)
	switch {
	case errors.Is(err, meta.ErrSchemaBehind):
		return hinted{err, "both databases must be at this trove's schema: run trove migrate up on the source (with its configuration) first"}
	case errors.Is(err, transfer.ErrNotEmpty):
		return hinted{err, "migrate into a new, empty database; if an earlier migrate-storage completed, check it with --verify-only"}
	case err != nil:
		return err
	}
	for _, s := range rep.Skipped {
		fmt.Fprintln(out, "skipped: blob "+s)
	}
	if dryRun {
		fmt.Fprintln(out, "dry run: nothing was changed")
	}
	return nil
}

// openSides loads both configurations and opens both sides' stores.
func openSides(ctx context.Context, out io.Writer, g *globals, f storageFlags) (*storageSides, error) {
	src, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	if err := finish(&src); err != nil {
		return nil, err
	}
	dst, err := loadTarget(f.to, src.DataDir)
	if err != nil {
		return nil, err
	}
	if err := sameStores(&src, &dst); err != nil {
		return nil, err
	}
	if !f.sourceStopped && !f.verifyOnly {
		if err := probeServer(ctx, &src); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(src.Database.Path); src.Database.Driver == "sqlite" && err != nil {
		return nil, hinted{fmt.Errorf("the source database: %w", err), "--data (or --config) names the install to move: its data directory holds trove.db"}
	}
	s := &storageSides{src: src, dst: dst}
	s.opts.Progress = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	s.opts.DryRun = f.dryRun
	if err := s.open(ctx); err != nil {
		return s, err
	}
	fmt.Fprintf(out, "from %s and %s\n  to %s and %s\n", describeDB(&src), describeBlobs(&src), describeDB(&dst), describeBlobs(&dst))
	s.opts.VerifierKey, s.opts.Checkpoint, err = sourceLog(ctx, &src, s.opts.From.Blobs)
	return s, err
}

func (s *storageSides) open(ctx context.Context) error {
	for _, side := range []struct {
		c    *config.Config
		into *transfer.Side
	}{{&s.src, &s.opts.From}, {&s.dst, &s.opts.To}} {
		db, err := connectDB(ctx, side.c)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, db)
		store, err := openBlobs(ctx, side.c)
		if err != nil {
			return err
		}
		*side.into = transfer.Side{DB: db, Blobs: store}
	}
	return nil
}

// loadTarget loads the target's configuration file, without the
// environment (which configures the source); its data_dir defaults to
// the source's.
func loadTarget(path, srcData string) (config.Config, error) {
	c, err := config.Load(path, nil)
	if err != nil {
		return c, err
	}
	var peek struct {
		DataDir *string `toml:"data_dir"`
	}
	if _, err := toml.DecodeFile(path, &peek); err != nil {
		return c, fmt.Errorf("reading config %s: %w", path, err)
	}
	if peek.DataDir == nil {
		c.DataDir = srcData
	}
	c.SetUploadLimits(uploadLimits())
	c.Finish()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid target configuration %s:\n%w", path, err)
	}
	return c, nil
}

// sameStores refuses a target that shares a store with the source.
func sameStores(src, dst *config.Config) error {
	var errs []error
	if src.Database.Driver == dst.Database.Driver && (src.Database.Driver == "sqlite" && samePath(src.Database.Path, dst.Database.Path) ||
		src.Database.Driver == "postgres" && src.Database.URL == dst.Database.URL && src.Database.URLFile == dst.Database.URLFile) {
		errs = append(errs, errors.New("the target's database is the source's"))
	}
	if src.Storage.Backend == dst.Storage.Backend && (src.Storage.Backend == "fs" && samePath(src.Storage.Dir, dst.Storage.Dir) ||
		src.Storage.Backend == "s3" && src.Storage.S3.Endpoint == dst.Storage.S3.Endpoint && src.Storage.S3.Bucket == dst.Storage.S3.Bucket && src.Storage.S3.Prefix == dst.Storage.S3.Prefix) {
		errs = append(errs, errors.New("the target's blob store is the source's"))
	}
	if len(errs) > 0 {
		return hinted{errors.Join(errs...), "--to names the configuration of the new stores; the source is the configuration trove runs with (--config, --data, TROVE_*)"}
	}
	return nil
}

func samePath(a, b string) bool {
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && a == b
}

// probeServer refuses to copy while something listens at the source's
// listen address: what a server writes after the snapshot would be lost.
func probeServer(ctx context.Context, c *config.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Listen)
	if err != nil {
		return nil
	}
	conn.Close()
	return hinted{fmt.Errorf("something listens at %s, the source's listen address: stop trove serve before migrating its storage", c.Listen),
		"writes made after the copy would be lost; if that is not trove, pass --source-stopped"}
}

// sourceLog returns the log's verifier key and the newest signed
// checkpoint the source keeps (its blob store's, or its data directory's).
func sourceLog(ctx context.Context, c *config.Config, store blob.Store) (string, []byte, error) {
	vkey, err := translog.LoadVerifierKey(c.KeyDir())
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, nil // never served: no log yet
	}
	if err != nil {
		return "", nil, err
	}
	var newest []byte
	var newestN int64 = -1
	candidates := [][]byte{}
	if b, err := store.ReadState(ctx, translog.CheckpointState); err == nil {
		candidates = append(candidates, b)
	} else if !errors.Is(err, blob.ErrNotFound) {
		return "", nil, fmt.Errorf("reading the source's checkpoint: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(c.LogDir(), "checkpoint")); err == nil {
		candidates = append(candidates, b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("reading the source's checkpoint: %w", err)
	}
	for _, b := range candidates {
		n, err := checkpointSize(b)
		if err != nil {
			return "", nil, err
		}
		if n > newestN {
			newest, newestN = b, n
		}
	}
	return vkey, newest, nil
}

// checkpointSize reads the tree size of a signed checkpoint (verified by
// transfer with the key).
func checkpointSize(b []byte) (int64, error) {
	text, _, _ := bytes.Cut(b, []byte("\n\n"))
	_, t, err := translog.ParseCheckpoint(string(text) + "\n")
	if err != nil {
		return 0, fmt.Errorf("the source's checkpoint: %w", err)
	}
	return t.N, nil
}

// placeKeys puts the log's keys (and the data directory's checkpoint)
// into the target's data directory, unless it is the source's.
func placeKeys(out io.Writer, src, dst *config.Config, dryRun bool) error {
	if samePath(src.KeyDir(), dst.KeyDir()) && samePath(src.LogDir(), dst.LogDir()) {
		fmt.Fprintf(out, "log keys: the target's data directory is the source's (%s): nothing to copy\n", dst.DataDir)
		return nil
	}
	for _, k := range []struct {
		name     string
		perm     os.FileMode
		src, dst string // directories: the keys' (transparency.key_dir) or the log's
	}{{"verifier.key", 0o644, src.KeyDir(), dst.KeyDir()}, {"signer.key", 0o600, src.KeyDir(), dst.KeyDir()},
		{"checkpoint", 0o644, src.LogDir(), dst.LogDir()}} {
		if samePath(k.src, k.dst) {
			continue
		}
		from, to := filepath.Join(k.src, k.name), filepath.Join(k.dst, k.name)
		data, err := os.ReadFile(from)
		if errors.Is(err, os.ErrNotExist) {
			if k.name == "signer.key" {
				fmt.Fprintf(out, "warning: no %s: copy the log's signing key there before trove serve on the target, or it makes a new key that clients of the old log refuse\n", from)
			}
			continue
		}
		if err != nil {
			return err
		}
		if have, err := os.ReadFile(to); err == nil {
			if !bytes.Equal(have, data) && k.name != "checkpoint" {
				return fmt.Errorf("%s holds another log's key than %s: the target's data directory belongs to another log", to, from)
			}
			continue
		}
		if dryRun {
			fmt.Fprintf(out, "would copy %s to %s\n", from, to)
			continue
		}
		if err := os.MkdirAll(k.dst, 0o700); err != nil {
			return err
		}
		if err := translog.WriteFileAtomic(to, data, k.perm); err != nil {
			return err
		}
		fmt.Fprintf(out, "copied %s to %s\n", from, to)
	}
	return nil
}

// describeBlobs names the configured blob store.
func describeBlobs(c *config.Config) string {
	if c.Storage.Backend == "s3" {
		return fmt.Sprintf("s3 %s bucket %s prefix %q", c.Storage.S3.Endpoint, c.Storage.S3.Bucket, c.Storage.S3.Prefix)
	}
	return "files in " + c.Storage.Dir
}
