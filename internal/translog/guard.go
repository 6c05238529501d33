package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// A BehindError reports a database whose log is shorter than the newest
// checkpoint the log published: an older backup was restored. The log
// then signs nothing and writers refuse to append, until the missing
// records are recovered (trove log recover). It wraps ErrRollback.
type BehindError struct {
	Records int64  // records in the database
	Signed  int64  // records in the newest checkpoint
	Source  string // where the newest checkpoint was found
}

func (e *BehindError) Error() string {
	return fmt.Sprintf("read-only: the transparency log has %d records, but this server published a checkpoint of %d (kept in %s); "+
		"the database was restored from an older backup, and nothing can be written until the %d missing records are recovered: "+
		"run `trove log recover --from URL` with a mirror of /log (without --from it uses the blob store's copy)",
		e.Records, e.Signed, e.Source, e.Signed-e.Records)
}

func (e *BehindError) Unwrap() error { return ErrRollback }

// A ForkError reports a database whose log differs from a checkpoint the
// log published, within the tree that checkpoint signs. It is never
// repaired automatically. It wraps ErrFork.
type ForkError struct {
	Size   int64  // the size of the published tree
	Source string // where its checkpoint was found
	Got    tlog.Hash
	Want   tlog.Hash
	// Record is the first record that differs (-1: not known, as no
	// source held the published records), with its text in the
	// database and in the published log (read from RecordSource).
	Record       int64
	Database     []byte
	Log          []byte
	RecordSource string
}

func (e *ForkError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: the database's log differs from the checkpoint of %d records this server published (kept in %s)", ErrFork, e.Size, e.Source)
	if e.Record < 0 {
		fmt.Fprintf(&b, ": the database's records hash to %v, the checkpoint signs %v; configure a mirror of /log (transparency.mirrors) or run `trove log recover --dry-run --from URL` to see which record differs", e.Got, e.Want)
		return b.String()
	}
	fmt.Fprintf(&b, ": record %d differs: the database holds %q, the published log (%s) holds %q; "+
		"this is not a restored backup but a different history: restore the matching database, or investigate tampering", e.Record, e.Database, e.RecordSource, e.Log)
	return b.String()
}

func (e *ForkError) Unwrap() error { return ErrFork }

// A found checkpoint, and where it was found.
type found struct {
	src    string
	signed *Signed
}

// gather reads the checkpoints kept outside the database: the state file
// and the state store, and with mirrors the configured mirrors and extra.
// A checkpoint in the state file or store that does not verify is an
// error (it is this server's own state: look at it); an unreachable or
// unverifiable configured mirror is logged and skipped; extra sources
// (given by the operator for one run) must all answer.
func (l *Log) gather(ctx context.Context, mirrors bool, extra []Source) ([]found, error) {
	var out []found
	if p := l.opts.StatePath; p != "" {
		data, err := os.ReadFile(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			l.fileN = -1
		case err != nil:
			return nil, fmt.Errorf("reading last signed checkpoint: %w", err)
		default:
			s, err := l.parseSigned(data)
			if err != nil {
				return nil, fmt.Errorf("last signed checkpoint %s: %w", p, err)
			}
			l.fileN = s.Tree.N
			out = append(out, found{p, s})
		}
	}
	if l.state != nil {
		data, err := l.state.Checkpoint(ctx)
		switch {
		case isNotFound(err):
			l.stateN = -1
		case err != nil:
			return nil, fmt.Errorf("reading the checkpoint kept in %s: %w", l.state, err)
		default:
			s, err := l.parseSigned(data)
			if err != nil {
				return nil, fmt.Errorf("the checkpoint kept in %s: %w", l.state, err)
			}
			l.stateN = s.Tree.N
			out = append(out, found{l.state.String(), s})
		}
	}
	if !mirrors {
		return out, nil
	}
	for _, m := range l.opts.Mirrors {
		if f, err := l.read(ctx, m); err != nil {
			slog.Warn("transparency log mirror: ignoring its checkpoint", "mirror", m.String(), "err", err)
		} else if f != nil {
			out = append(out, *f)
		}
	}
	for _, m := range extra {
		f, err := l.read(ctx, m)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}

// read returns a source's checkpoint, verified, or nil if it has none.
func (l *Log) read(ctx context.Context, src Source) (*found, error) {
	data, err := src.Checkpoint(ctx)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint of %s: %w", src, err)
	}
	s, err := l.parseSigned(data)
	if err != nil {
		return nil, fmt.Errorf("the checkpoint of %s: %w", src, err)
	}
	return &found{src.String(), s}, nil
}

// newestOf returns the largest checkpoint found. Two of one size with
// different hashes are signed evidence of a fork.
func newestOf(fs []found) (*found, error) {
	var newest *found
	for i := range fs {
		f := &fs[i]
		for _, g := range fs[:i] {
			if g.signed.Tree.N == f.signed.Tree.N && g.signed.Tree.Hash != f.signed.Tree.Hash {
				return nil, fmt.Errorf("%w: %s and %s hold two different checkpoints of %d records, both signed by this log's key: "+
					"the log was forked before; keep both files as evidence and investigate", ErrFork, g.src, f.src, f.signed.Tree.N)
			}
		}
		if newest == nil || f.signed.Tree.N > newest.signed.Tree.N {
			newest = f
		}
	}
	return newest, nil
}

// hold checks the database against the checkpoints found: each one the
// database covers must be its tree (else a *ForkError), and the newest
// becomes the latest; a database behind it holds the log read-only.
func (l *Log) hold(ctx context.Context, fs []found, srcs []Source) error {
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("reading log size: %w", err)
	}
	for _, f := range fs {
		if f.signed.Tree.N > n {
			continue
		}
		got, err := TreeOf(ctx, l.store, f.signed.Tree.N)
		if err != nil {
			return err
		}
		if got.Hash != f.signed.Tree.Hash {
			e := &ForkError{Size: f.signed.Tree.N, Source: f.src, Got: got.Hash, Want: f.signed.Tree.Hash, Record: -1}
			l.describe(ctx, e, srcs)
			return e
		}
	}
	// Checkpoints the database does not cover must agree with each other.
	newest, err := newestOf(fs)
	if err != nil {
		return err
	}
	var behind *BehindError
	if newest != nil {
		if last := l.latest.Load(); last == nil || newest.signed.Tree.N > last.Tree.N {
			l.latest.Store(newest.signed)
		}
		if newest.signed.Tree.N > n {
			behind = &BehindError{Records: n, Signed: newest.signed.Tree.N, Source: newest.src}
		}
	}
	switch was := l.held.Swap(behind); {
	case behind != nil && (was == nil || *was != *behind):
		slog.Error(behind.Error())
	case behind == nil && was != nil:
		slog.Info("transparency log: the database now holds the newest checkpoint's tree; writes are allowed again", "records", n)
	}
	return nil
}

// refresh gathers the checkpoints and holds the database to them.
func (l *Log) refresh(ctx context.Context, mirrors bool, extra []Source) error {
	fs, err := l.gather(ctx, mirrors, extra)
	if err != nil {
		return err
	}
	return l.hold(ctx, fs, l.sources(extra))
}

// Refresh reads every checkpoint kept outside the database, the mirrors'
// included, and holds the database to the newest (see Log). Sign reads
// only the state file and store; servers call Refresh now and then.
func (l *Log) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refresh(ctx, true, nil)
}

// sources returns where records may be read: extra, the mirrors, the
// state store.
func (l *Log) sources(extra []Source) []Source {
	out := append(append([]Source(nil), extra...), l.opts.Mirrors...)
	if l.state != nil {
		out = append(out, l.state)
	}
	return out
}

// describeChunk is how many records describe compares at a time.
const describeChunk = 1024

// describe finds the first record in which the database differs from
// the published tree of e, in the first source whose records hash to it.
func (l *Log) describe(ctx context.Context, e *ForkError, srcs []Source) {
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return
	}
	for _, src := range srcs {
		h := newHashes(ctx, nil, 0)
		var diff int64 = -1
		var dbText, logText []byte
		ok := true
		for start := int64(0); start < e.Size && ok; start += describeChunk {
			end := min(start+describeChunk, e.Size)
			recs, err := src.Records(ctx, start, end)
			if err != nil || h.add(start, recs) != nil {
				ok = false
				break
			}
			if diff >= 0 || start >= n {
				continue
			}
			db, err := l.store.ReadLogRecords(ctx, start, min(end, n)-start)
			if err != nil {
				return
			}
			for i := range db {
				// A mirror holds private records redacted.
				if !bytes.Equal(db[i], recs[i]) && !(IsPlaceholder(recs[i]) && bytes.Equal(Redact(db[i]), recs[i])) {
					diff, dbText, logText = start+int64(i), db[i], recs[i]
					break
				}
			}
		}
		if !ok || diff < 0 {
			continue
		}
		if root, err := tlog.TreeHash(e.Size, h); err != nil || root != e.Want {
			continue // not the published records
		}
		e.Record, e.Database, e.Log, e.RecordSource = diff, dbText, logText, src.String()
		return
	}
}

// hashes is a tlog.HashReader over a Store's hashes below a stored-hash
// index and hashes computed in memory from records appended after them.
type hashes struct {
	base  Store
	limit int64 // stored hash indexes below it come from base
	mem   map[int64]tlog.Hash
	ctx   context.Context
}

// newHashes returns hashes over the first n records of base (nil: none).
func newHashes(ctx context.Context, base Store, n int64) *hashes {
	return &hashes{base: base, limit: tlog.StoredHashIndex(0, n), mem: make(map[int64]tlog.Hash), ctx: ctx}
}

func (h *hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < h.limit && h.base != nil {
			got, err := h.base.ReadLogHashes(h.ctx, []int64{x})
			if err != nil {
				return nil, err
			}
			out[i] = got[0]
			continue
		}
		v, ok := h.mem[x]
		if !ok {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = v
	}
	return out, nil
}

// add hashes records first, first+1, … as the next records of the tree.
// A private record's placeholder (a mirror's redacted copy) gives its
// leaf hash.
func (h *hashes) add(first int64, recs [][]byte) error {
	for i, r := range recs {
		id := first + int64(i)
		if _, err := tlog.FormatRecord(id, r); err != nil {
			return fmt.Errorf("record %d: %w", id, err)
		}
		leaf, err := LeafHash(r)
		if err != nil {
			return fmt.Errorf("record %d: %w", id, err)
		}
		hs, err := tlog.StoredHashesForRecordHash(id, leaf, h)
		if err != nil {
			return err
		}
		x := tlog.StoredHashIndex(0, id)
		for j, v := range hs {
			h.mem[x+int64(j)] = v
		}
	}
	return nil
}
