package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
)

// logOptions says where the log keeps its checkpoints outside the
// database: <data>/log/checkpoint, the blob store (with a copy of every
// record) and the configured mirrors, then the extra ones.
func logOptions(c *config.Config, blobs blob.Store, extra ...string) (translog.Options, error) {
	o := translog.Options{StatePath: filepath.Join(c.LogDir(), "checkpoint"), State: registry.LogState(blobs)}
	for _, loc := range append(append([]string(nil), c.Transparency.Mirrors...), extra...) {
		m, err := translog.NewMirror(loc)
		if err != nil {
			return o, err
		}
		o.Mirrors = append(o.Mirrors, m)
	}
	return o, nil
}

func newLogRecover(g *globals) *cobra.Command {
	var from []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "recover [--from URL|DIR]... [--dry-run]",
		Short: "Rebuild the records a restored database lacks from a mirror of the log and the blob store",
		Long: `Rebuild what a database restored from an older backup lacks of the newest
checkpoint this server published (kept in <data>/log/checkpoint, in the blob
store and at the configured transparency.mirrors). The missing records are
read from --from (a URL serving a copy of /log, such as https://host/log,
or a directory holding one), the configured mirrors or the blob store's own
copy; they must make, after the database's own records, exactly the signed
tree. Each is then appended byte for byte with the state change it
describes: releases and files (from the blobs, whose digests must match
the record), yanks, deprecations, deletions, tags and owners.

A mirror of /log holds the records of private packages redacted (their
leaf hashes only): it proves them but cannot restore them, so missing
private records come from the blob store's copy alone, and without it the
command says which records no source holds in full.

A database that differs from the published log (a fork) is refused, with
the first record that differs. Blobs or users the records need and the
blob store or database lack are listed, and nothing is changed. Running it
again resumes; --dry-run reports what it would do and changes nothing. It
may run while trove serve runs: the server allows writes again once the
database holds the newest checkpoint's tree.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(g)
			if err != nil {
				return err
			}
			if err := finish(&c); err != nil {
				return err
			}
			return recoverLog(cmd.Context(), cmd.OutOrStdout(), &c, from, dryRun)
		},
	}
	cmd.Flags().StringArrayVar(&from, "from", nil, "a mirror of /log to read records from: an http(s) URL or a directory (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be recovered, and change nothing")
	return cmd
}

// recoverLog is trove log recover.
func recoverLog(ctx context.Context, out io.Writer, c *config.Config, from []string, dryRun bool) error {
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := openBlobs(ctx, c)
	if err != nil {
		return err
	}
	l, err := openLogFor(ctx, c, db, blobs, from)
	if err != nil {
		return err
	}
	rec, err := l.Missing(ctx, nil)
	if errors.Is(err, translog.ErrWithheld) {
		return hinted{fmt.Errorf("recovering the transparency log: %w", err),
			"private packages' records are restored only from the blob store's copy of the log (state objects log-entries-*): run trove log recover with the blob store that served the log, or restore it from a backup taken after those records"}
	}
	if err != nil {
		return hinted{fmt.Errorf("recovering the transparency log: %w", err),
			"give a copy of the public log with --from URL|DIR (any mirror of /log: tiles and entry bundles are public), or configure transparency.mirrors"}
	}
	if len(rec.Records) == 0 {
		fmt.Fprintf(out, "nothing to recover: the database holds the %d records of the newest checkpoint", rec.First)
		if rec.Checkpoint != nil {
			fmt.Fprintf(out, " (%d, in %s)", rec.Checkpoint.Tree.N, rec.Source)
		}
		fmt.Fprintln(out)
		return nil
	}
	reg, err := registry.New(registry.Config{DB: db, Blobs: blobs, Rules: ecosystemRules(), TempDir: c.TempDir(), Log: l})
	if err != nil {
		return err
	}
	if _, err := newCurate(c, db, reg); err != nil { // its records replay too
		return err
	}
	return replay(ctx, out, reg, l, rec, dryRun)
}

// openLogFor opens the log as trove serve does, with from as mirrors too.
func openLogFor(ctx context.Context, c *config.Config, db *meta.DB, blobs blob.Store, from []string) (*translog.Log, error) {
	if _, err := translog.LoadVerifierKey(c.KeyDir()); errors.Is(err, os.ErrNotExist) {
		return nil, hinted{fmt.Errorf("no transparency log key in %s", c.KeyDir()),
			"restore <data>/log (signer.key, verifier.key) from the backup: recovery needs the log's key; --data names the data directory"}
	} else if err != nil {
		return nil, err
	}
	signer, vkey, err := translog.LoadOrCreateKey(c.KeyDir(), c.Transparency.Name)
	if err != nil {
		return nil, err
	}
	o, err := logOptions(c, blobs, from...)
	if err != nil {
		return nil, hinted{err, "--from takes a URL serving a copy of /log (https://host/log) or a directory holding one"}
	}
	return translog.OpenWith(ctx, db, signer, vkey, o)
}

// replay checks what the records need, replays them and signs.
func replay(ctx context.Context, out io.Writer, reg *registry.Service, l *translog.Log, rec *translog.Recovery, dryRun bool) error {
	last := rec.First + int64(len(rec.Records)) - 1
	fmt.Fprintf(out, "the database holds %d records; the checkpoint of %d in %s needs records %d to %d, read from %s\n",
		rec.First, rec.Checkpoint.Tree.N, rec.Source, rec.First, last, rec.From)
	problems, err := reg.ReplayProblems(ctx, rec.First, rec.Records)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(out, "missing: "+p)
	}
	if len(problems) > 0 {
		return hinted{fmt.Errorf("cannot recover: %d things the records need are missing (listed above); nothing was changed", len(problems)),
			"restore the blob store from a backup that holds those files, create the users, then run trove log recover again"}
	}
	verb := "recovered"
	if dryRun {
		verb = "would recover"
	}
	err = reg.Replay(ctx, rec.First, rec.Records, dryRun, func(r registry.Replayed) {
		fmt.Fprintf(out, "%s record %d: %s\n", verb, r.ID, r.Summary)
	})
	if err != nil {
		return hinted{fmt.Errorf("recovering the transparency log: %w", err), "the records before it were recovered; fix what it names and run trove log recover again"}
	}
	if dryRun {
		fmt.Fprintf(out, "dry run: %d records would be recovered; nothing was changed\n", len(rec.Records))
		return nil
	}
	s, err := l.Sign(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "recovered %d records: the database holds the published checkpoint of %d records again; writes are allowed\n", len(rec.Records), s.Tree.N)
	return nil
}
