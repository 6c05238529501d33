// Package transfer moves a Trove install from one pair of stores (a
// metadata database and a blob store) to another: from the embedded
// default, SQLite and files, to PostgreSQL and S3, or between any two.
//
// # What moves
//
//   - Every blob a file row references, streamed and committed under its
//     SHA-256 (the target store checks the digest before the blob becomes
//     visible). Blobs the target already holds with the right size are
//     skipped, so an interrupted copy resumes. Unreferenced blobs (left
//     for garbage collection) stay behind.
//   - The transparency log's state objects: the signed checkpoint and the
//     copy of its records ("log-entries-<k>", translog.StateMirror).
//   - Every table, through meta's engine-neutral dump and load, read in one
//     snapshot of the source and loaded in one transaction into an empty
//     target: the target holds all of it or nothing. This comes last, from
//     the snapshot the blobs were listed in, so no row ever names a blob
//     the target lacks, and a copy that stopped before it runs again.
//
// The log's keys live in the data directory; the command line places them.
//
// # Verification
//
// [Verify] compares both sides afresh, whatever Copy did: each table's
// row count and the SHA-256 of its dump (dumps are engine-neutral and in
// primary key order, so equal content dumps to equal bytes; the first
// differing row is named), every referenced blob re-read from the target
// and hashed, the log recomputed from its records on both sides (same
// tree), the newest signed checkpoint verified with the log's key and
// matched by the target's tree, and the target's state objects checked
// against its records. A source changed after the copy fails it too.
//
// # Limits
//
// The source must not change while Copy runs: its server is stopped
// (the snapshot keeps the copy consistent, and Verify catches a source
// that moved on). Both databases must be at this build's schema.
package transfer

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
)

// A Side is one install's stores.
type Side struct {
	DB    *meta.DB
	Blobs blob.Store
}

// Options say what Copy and Verify work on.
type Options struct {
	From, To Side
	// VerifierKey is the log's public key (note verifier format); ""
	// when the source has no log key yet (it never served).
	VerifierKey string
	// Checkpoint is the newest signed checkpoint the source published
	// (nil: none), which the copied log must match.
	Checkpoint []byte
	// DryRun reports what Copy would do and changes nothing.
	DryRun bool
	// Progress, if set, is called with lines describing the progress.
	Progress func(format string, args ...any)
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(format, args...)
	}
}

// Errors callers branch on.
var (
	// ErrNotEmpty reports a target database that already holds rows.
	ErrNotEmpty = errors.New("the target database is not empty")
	// ErrMissingBlobs reports blobs the source database references that
	// its blob store lacks (or holds damaged).
	ErrMissingBlobs = errors.New("blobs the source references are missing from its blob store")
	// ErrMismatch reports a target that differs from its source.
	ErrMismatch = errors.New("the copy differs from its source")
)

// A Report says what Copy did (or, in a dry run, would do).
type Report struct {
	Tables      []TableCount
	Blobs       int64 // blobs referenced
	BlobBytes   int64
	BlobsCopied int64 // of which copied now (the rest were there already)
	CopiedBytes int64
	Skipped     []string // blobs not copied, and why (missing but not required)
	States      int      // state objects copied
	Log         tlog.Tree
}

// A TableCount is a table's rows.
type TableCount struct {
	Table string
	Rows  int64
}

// Copy copies the source's blobs, rows and log state into the target,
// whose database must be migrated to this build's schema and empty. See
// the package doc.
func Copy(ctx context.Context, o Options) (*Report, error) {
	if err := checkSchemas(ctx, o); err != nil {
		return nil, err
	}
	if err := checkEmpty(ctx, o.To.DB, o.DryRun); err != nil {
		return nil, err
	}
	rep := &Report{}
	err := o.From.DB.Snapshot(ctx, func(s *meta.Snapshot) error {
		if err := checkCheckpoint(ctx, s, o, rep); err != nil {
			return err
		}
		if err := copyBlobs(ctx, s, o, rep); err != nil {
			return err
		}
		if err := copyStates(ctx, o, rep); err != nil {
			return err
		}
		// Last, in one transaction: until it commits the target database
		// stays empty, and a copy that stopped runs again.
		return copyTables(ctx, s, o, rep)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// checkSchemas requires both databases at this build's schema (a dry run
// accepts a target not migrated yet).
func checkSchemas(ctx context.Context, o Options) error {
	for _, side := range []struct {
		name string
		db   *meta.DB
	}{{"source", o.From.DB}, {"target", o.To.DB}} {
		s, err := side.db.CheckSchema(ctx)
		if o.DryRun && side.name == "target" && errors.Is(err, meta.ErrSchemaBehind) && s.Current() == 0 {
			continue // a new database, migrated by the real run
		}
		if err != nil {
			return fmt.Errorf("the %s database: %w", side.name, err)
		}
		if s.Newer() {
			return fmt.Errorf("the %s database is at schema version %d, newer than this trove's %d: run the migration with the newer trove", side.name, s.Current(), meta.LatestSchema())
		}
	}
	return nil
}

// checkEmpty refuses a target database with rows in any table.
func checkEmpty(ctx context.Context, db *meta.DB, dryRun bool) error {
	if dryRun {
		if s, err := db.SchemaStatus(ctx); err != nil || s.Current() == 0 {
			return err // no tables yet: empty
		}
	}
	for _, table := range meta.DumpTables() {
		n, err := db.CountRows(ctx, table)
		if err != nil {
			return fmt.Errorf("counting the target's %s: %w", table, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: table %s has %d rows", ErrNotEmpty, table, n)
		}
	}
	return nil
}
