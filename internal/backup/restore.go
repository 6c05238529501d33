package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
)

// Errors Restore returns that callers branch on.
var (
	// ErrNotEmpty reports a target database that already holds data.
	ErrNotEmpty = errors.New("the database is not empty")
	// ErrMissingBlobs reports required blobs absent from the blob store
	// (or of the wrong size or, with VerifyBlobs, bytes).
	ErrMissingBlobs = errors.New("blobs the backup references are missing from the blob store")
)

// RestoreOptions say where a backup goes and what Restore checks.
type RestoreOptions struct {
	DB    *meta.DB // migrated and empty
	Blobs blob.Store
	// VerifierKey is the key the target already trusts ("" for none):
	// a backup of a log with another key is refused.
	VerifierKey string
	// Checkpoints are the signed checkpoints the target already keeps.
	Checkpoints []Checkpoint
	// VerifyBlobs re-reads every blob and checks its SHA-256; otherwise
	// only presence and size are checked.
	VerifyBlobs bool
	// AllowMissingBlobs commits the restore even when required blobs
	// are missing (they are reported all the same).
	AllowMissingBlobs bool
	// Missing, if set, is called with each blob that is missing or
	// wrong, and why.
	Missing func(b *Blob, problem string)
}

// A Report says what a restore did and found.
type Report struct {
	Rows int64     // rows loaded
	Log  tlog.Tree // the restored log, every stored hash recomputed
	// Signed is the size of the backup's checkpoint, which the restored
	// log extends (0: the backup has none, and its log is empty).
	Signed       int64
	Blobs        int64 // blobs checked
	BlobBytes    int64
	Missing      int64 // blobs missing or wrong
	MissingNeeds int64 // of which required
	// Newer is a checkpoint the target keeps that is newer than the
	// restored log: the records between are missing (trove log recover).
	Newer *Checkpoint
	// NewerSize is the size of the tree Newer signs.
	NewerSize int64
}

// Restore loads the backup into an empty database, in one transaction,
// and commits it only if every check passes; see the package doc.
func Restore(ctx context.Context, a *Archive, o RestoreOptions) (*Report, error) {
	m := a.Manifest
	if latest := meta.LatestSchema(); m.Schema > latest {
		return nil, fmt.Errorf("the backup's schema is version %d, newer than this trove's %d: restore it with the trove that made it, or a newer one", m.Schema, latest)
	}
	v, cp, err := a.logKey(o.VerifierKey)
	if err != nil {
		return nil, err
	}
	if !a.has(checkpointName) && m.Log.Records > 0 {
		return nil, fmt.Errorf("%w: it holds %d log records but no signed checkpoint", ErrInvalid, m.Log.Records)
	}
	kept, err := verifyAll(v, o.Checkpoints)
	if err != nil {
		return nil, err
	}
	rep := &Report{Signed: cp.N}
	err = o.DB.Tx(ctx, func(tx *meta.Tx) error {
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		if err := a.loadTables(ctx, tx, rep); err != nil {
			return err
		}
		if err := checkLog(ctx, tx, m, cp, a.has(checkpointName), rep); err != nil {
			return err
		}
		if err := checkKept(ctx, tx, kept, rep); err != nil {
			return err
		}
		return a.checkBlobs(ctx, o, rep)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// logKey reads the backup's verifier key and checkpoint, verifies the
// checkpoint and returns both. The key must be the target's, if it has one.
func (a *Archive) logKey(trusted string) (note.Verifier, tlog.Tree, error) {
	var tree tlog.Tree
	key, err := a.small(verifierName)
	if err != nil {
		return nil, tree, err
	}
	vkey := strings.TrimSpace(string(key))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, tree, fmt.Errorf("%w: %s: %w", ErrInvalid, verifierName, err)
	}
	if v.Name() != a.Manifest.Log.Origin || fmt.Sprintf("%08x", v.KeyHash()) != a.Manifest.Log.KeyHash {
		return nil, tree, fmt.Errorf("%w: %s is not the key the manifest names (%s+%s)", ErrInvalid, verifierName, a.Manifest.Log.Origin, a.Manifest.Log.KeyHash)
	}
	if trusted != "" && trusted != vkey {
		return nil, tree, fmt.Errorf("the backup is of the log signed by %s, but this data directory's log key is %s: restore into a data directory without a log key, or one with the backup's", vkey, trusted)
	}
	if !a.has(checkpointName) {
		return v, tree, nil
	}
	data, err := a.small(checkpointName)
	if err != nil {
		return nil, tree, err
	}
	cps, err := verifyAll(v, []Checkpoint{{Source: "the backup's " + checkpointName, Note: data}})
	if err != nil {
		return nil, tree, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if cps[0].tree.N != a.Manifest.Log.Signed {
		return nil, tree, fmt.Errorf("%w: %s signs %d records, the manifest says %d", ErrInvalid, checkpointName, cps[0].tree.N, a.Manifest.Log.Signed)
	}
	return v, cps[0].tree, nil
}

func checkEmpty(ctx context.Context, tx *meta.Tx) error {
	for _, table := range meta.DumpTables() {
		n, err := tx.CountRows(ctx, table)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: table %s has %d rows; restore only into a new database", ErrNotEmpty, table, n)
		}
	}
	return nil
}

// loadTables loads every table the backup holds, checking each part and
// its row count against the manifest.
func (a *Archive) loadTables(ctx context.Context, tx *meta.Tx, rep *Report) error {
	for _, table := range meta.DumpTables() {
		name := tablePrefix + table + tableSuffix
		want, listed := a.Manifest.table(table)
		if !a.has(name) {
			if listed {
				return fmt.Errorf("%w: the manifest counts rows of %s, but the archive lacks %s", ErrInvalid, table, name)
			}
			continue // a backup made before the table existed
		}
		if !listed {
			return fmt.Errorf("%w: the manifest has no row count for %s", ErrInvalid, table)
		}
		pr, err := a.open(name)
		if err != nil {
			return err
		}
		n, err := tx.LoadTable(ctx, table, pr)
		if ferr := pr.finish(); ferr != nil {
			return ferr // a damaged part explains a load error too
		}
		if err != nil {
			return err
		}
		if n != want.Rows {
			return fmt.Errorf("%w: %s holds %d rows, the manifest counts %d", ErrInvalid, name, n, want.Rows)
		}
		rep.Rows += n
	}
	return nil
}

// checkLog recomputes the restored log and checks it against the
// backup's checkpoint.
func checkLog(ctx context.Context, tx *meta.Tx, m *Manifest, cp tlog.Tree, signed bool, rep *Report) error {
	size, err := tx.LogSize(ctx)
	if err != nil {
		return err
	}
	if size != m.Log.Records {
		return fmt.Errorf("%w: the restored log has %d records, the manifest counts %d", ErrInvalid, size, m.Log.Records)
	}
	if size < cp.N {
		return fmt.Errorf("%w: the restored log of %d records is not covered by the backup's checkpoint of %d", ErrInvalid, size, cp.N)
	}
	if rep.Log, err = translog.Recompute(ctx, tx, size); err != nil {
		return fmt.Errorf("restored transparency log: %w", err)
	}
	if !signed {
		return nil // an empty log (Restore checked)
	}
	t, err := translog.TreeOf(ctx, tx, cp.N)
	if err != nil {
		return err
	}
	if t.Hash != cp.Hash {
		return fmt.Errorf("%w: the restored log's first %d records hash to %v, but the backup's checkpoint signs %v", translog.ErrFork, cp.N, t.Hash, cp.Hash)
	}
	return nil
}

// checkKept checks the restored log against the checkpoints the target
// keeps: a fork is refused, a newer checkpoint reported.
func checkKept(ctx context.Context, tx *meta.Tx, kept []signed, rep *Report) error {
	for i, c := range kept {
		if c.tree.N > rep.Log.N {
			if rep.Newer == nil || c.tree.N > rep.NewerSize {
				rep.Newer, rep.NewerSize = &kept[i].Checkpoint, c.tree.N
			}
			continue
		}
		t, err := translog.TreeOf(ctx, tx, c.tree.N)
		if err != nil {
			return err
		}
		if t.Hash != c.tree.Hash {
			return fmt.Errorf("%w: the backup's first %d records are not those %s signs; this backup is not of the log this server published",
				translog.ErrFork, c.tree.N, c.Source)
		}
	}
	return nil
}
