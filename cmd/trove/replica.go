package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
)

// Replicas: what several trove serve processes on one PostgreSQL database
// and one bucket share, beyond the database itself (docs/operations.md,
// Replicas).

// startJobs starts the background jobs, which every replica runs in turn
// (registry.Job): the sweep of abandoned uploads, the pending scans and,
// if configured, the scrub.
func startJobs(ctx context.Context, c *config.Config, s *stack) {
	holder := registry.Holder()
	go s.registry.RunJob(ctx, holder, s.registry.SweepJob())
	go s.registry.RunJob(ctx, holder, s.registry.ScanJob())
	go s.registry.FlushDownloadsLoop(ctx)
	go s.registry.RunJob(ctx, holder, s.registry.CriticalJob(criticalNotice(s.mail.notes)))
	if c.Storage.ScrubInterval.Std() > 0 {
		go s.registry.RunJob(ctx, holder, scrubJob(c, s))
	}
	startMailJobs(ctx, c, s, holder)
	go s.registry.RunJob(ctx, holder, domainJob(c, s))
}

// rates returns the rate limit r, kept in the database (one budget for
// every replica) when the database is shared, in memory otherwise.
func rates(db *meta.DB, r limit.Rate, bucket string) *limit.Rates {
	if db.Shared() {
		return limit.NewSharedRates(r, bucket, db, nil)
	}
	return limit.NewRates(r, nil)
}

// loadLogKey returns the transparency log's key from the key directory,
// creating it there only if no log exists yet: not in the database, not
// in the blob store. A replica joining an existing log must be given its
// key; a new key would sign checkpoints no client of the log trusts.
func loadLogKey(ctx context.Context, c *config.Config, db *meta.DB, blobs blob.Store) (note.Signer, string, error) {
	dir := c.KeyDir()
	_, err := translog.LoadVerifierKey(dir)
	if errors.Is(err, os.ErrNotExist) {
		if where, err := existingLog(ctx, db, blobs); err != nil {
			return nil, "", err
		} else if where != "" {
			return nil, "", hinted{fmt.Errorf("no transparency log key in %s, but %s already holds this registry's log", dir, where),
				"every replica signs with the log's one key: copy signer.key (mode 0600) and verifier.key from the key directory of the " +
					"first server (<data>/log, or its transparency.key_dir) into " + dir + ", or set transparency.key_dir to a directory holding them " +
					"(docs/operations.md, Replicas)"}
		}
	}
	return translog.LoadOrCreateKey(dir, c.Transparency.Name)
}

// existingLog says where a log already exists ("" if nowhere): the
// database's records, or the checkpoint kept in the blob store.
func existingLog(ctx context.Context, db *meta.DB, blobs blob.Store) (string, error) {
	n, err := db.LogSize(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the transparency log's size: %w", err)
	}
	if n > 0 {
		return fmt.Sprintf("the database (%d log records)", n), nil
	}
	if _, err := registry.LogState(blobs).ReadState(ctx, translog.CheckpointState); err == nil {
		return "the blob store (its kept checkpoint)", nil
	} else if !errors.Is(err, translog.ErrNotFound) {
		return "", fmt.Errorf("reading the checkpoint kept in the blob store: %w", err)
	}
	return "", nil
}
