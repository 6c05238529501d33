package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/translog"
)

// entriesState names the state object holding records k*StateGroup on
// (translog.StateMirror's layout).
func entriesState(k int64) string { return fmt.Sprintf("log-entries-%d", k) }

// signedTree verifies the checkpoint with the log's key and returns the
// tree it signs (the empty tree without a checkpoint).
func signedTree(o Options) (tlog.Tree, error) {
	if o.Checkpoint == nil {
		return tlog.Tree{}, nil
	}
	v, err := note.NewVerifier(o.VerifierKey)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("the log's verifier key: %w", err)
	}
	n, err := note.Open(o.Checkpoint, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("verifying the source's checkpoint: %w", err)
	}
	origin, tree, err := translog.ParseCheckpoint(n.Text)
	if err != nil {
		return tlog.Tree{}, err
	}
	if origin != v.Name() {
		return tlog.Tree{}, fmt.Errorf("the source's checkpoint is of log %q, its key of %q", origin, v.Name())
	}
	return tree, nil
}

// checkLog recomputes the log of s and checks it against the signed
// checkpoint: the tree every copy must have.
func checkLog(ctx context.Context, s translog.Store, o Options) (tlog.Tree, error) {
	cp, err := signedTree(o)
	if err != nil {
		return tlog.Tree{}, err
	}
	size, err := s.LogSize(ctx)
	if err != nil {
		return tlog.Tree{}, err
	}
	if size < cp.N {
		return tlog.Tree{}, fmt.Errorf("%w: the database's log has %d records, but the server published a checkpoint of %d (run trove log recover on the source first)", translog.ErrRollback, size, cp.N)
	}
	tree, err := translog.Recompute(ctx, s, size)
	if err != nil {
		return tlog.Tree{}, err
	}
	if cp.N == 0 {
		return tree, nil
	}
	signed, err := translog.TreeOf(ctx, s, cp.N)
	if err != nil {
		return tlog.Tree{}, err
	}
	if signed.Hash != cp.Hash {
		return tlog.Tree{}, fmt.Errorf("%w: the first %d records hash to %v, the signed checkpoint says %v", translog.ErrFork, cp.N, signed.Hash, cp.Hash)
	}
	return tree, nil
}

func checkCheckpoint(ctx context.Context, s translog.Store, o Options, rep *Report) error {
	tree, err := checkLog(ctx, s, o)
	if err != nil {
		return fmt.Errorf("the source's transparency log: %w", err)
	}
	rep.Log = tree
	o.progress("log: %d records, root %v", tree.N, tree.Hash)
	return nil
}

// copyStates copies the log's state objects: the records' copy, then the
// checkpoint that covers them (the order the log writes them in).
func copyStates(ctx context.Context, o Options, rep *Report) error {
	var names []string
	for k := int64(0); k*translog.StateGroup < rep.Log.N; k++ {
		names = append(names, entriesState(k))
	}
	names = append(names, translog.CheckpointState)
	for _, name := range names {
		data, err := o.From.Blobs.ReadState(ctx, name)
		if errors.Is(err, blob.ErrNotFound) {
			o.progress("state object %s: not in the source's blob store (trove serve writes it on the target)", name)
			continue
		}
		if err != nil {
			return fmt.Errorf("reading state object %s: %w", name, err)
		}
		if !o.DryRun {
			if err := o.To.Blobs.WriteState(ctx, name, data); err != nil {
				return fmt.Errorf("writing state object %s: %w", name, err)
			}
		}
		rep.States++
	}
	verb := "copied"
	if o.DryRun {
		verb = "to copy"
	}
	o.progress("state objects: %d %s", rep.States, verb)
	return nil
}

// verifyStates checks the target's state objects: its checkpoint is the
// source's, and its copy of the records is the target database's.
func verifyStates(ctx context.Context, o Options, s translog.Store, size int64) []string {
	var problems []string
	src, serr := o.From.Blobs.ReadState(ctx, translog.CheckpointState)
	dst, derr := o.To.Blobs.ReadState(ctx, translog.CheckpointState)
	switch {
	case serr != nil && derr != nil && errors.Is(serr, blob.ErrNotFound) && errors.Is(derr, blob.ErrNotFound):
		return nil // neither keeps them: the target's server writes them
	case serr != nil || derr != nil:
		return append(problems, fmt.Sprintf("state object checkpoint: source: %v, target: %v", serr, derr))
	case !bytes.Equal(src, dst):
		problems = append(problems, "state object checkpoint differs from the source's")
	}
	for k := int64(0); k*translog.StateGroup < size; k++ {
		data, err := o.To.Blobs.ReadState(ctx, entriesState(k))
		if err != nil {
			problems = append(problems, fmt.Sprintf("state object %s: %v", entriesState(k), err))
			continue
		}
		got, err := translog.ParseBundle(data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("state object %s: %v", entriesState(k), err))
			continue
		}
		first := k * translog.StateGroup
		want, err := s.ReadLogRecords(ctx, first, min(size-first, int64(len(got))))
		if err != nil || len(want) != len(got) {
			problems = append(problems, fmt.Sprintf("state object %s holds %d records the database lacks", entriesState(k), len(got)))
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				problems = append(problems, fmt.Sprintf("state object %s: record %d differs from the database's", entriesState(k), first+int64(i)))
			}
		}
	}
	return problems
}
