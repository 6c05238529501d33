package translog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrWithheld is what Missing wraps when the only sources holding the
// missing records hold some of them as private records' placeholders: a
// mirror of /log proves them but cannot restore them.
var ErrWithheld = errors.New("private records are withheld from mirrors")

// A Recovery is what the database lacks of the newest checkpoint the log
// published: the missing records, proved to be the ones it signed.
type Recovery struct {
	// Checkpoint is the newest checkpoint, found in Source.
	Checkpoint *Signed
	Source     string
	// First is the id of Records[0]: the number of records the database holds.
	First int64
	// Records are the missing records, exactly as published, read from From.
	Records [][]byte
	From    string
}

// Missing finds the newest checkpoint the log published (in the state
// file, the state store, the configured mirrors and extra), and reads the
// records the database lacks of it from the first source (extra, the
// mirrors, the state store) whose records make, after the database's
// own, exactly the signed tree. It changes nothing.
//
// A mirror of /log holds private records only as placeholders (see
// Redact): it proves them, but cannot restore them, so a source whose
// records include one is passed over for the next (the state store keeps
// full texts).
//
// A database that differs from a published tree is a *ForkError naming
// the first record that differs; no source holding matching records is
// an error saying what each one lacks.
func (l *Log) Missing(ctx context.Context, extra []Source) (*Recovery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs, err := l.gather(ctx, true, extra)
	if err != nil {
		return nil, err
	}
	srcs := l.sources(extra)
	if err := l.hold(ctx, fs, srcs); err != nil {
		return nil, err
	}
	newest, _ := newestOf(fs)
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading log size: %w", err)
	}
	if newest == nil || newest.signed.Tree.N <= n {
		r := &Recovery{First: n}
		if newest != nil {
			r.Checkpoint, r.Source = newest.signed, newest.src
		}
		return r, nil
	}
	r := &Recovery{Checkpoint: newest.signed, Source: newest.src, First: n}
	var why []string
	redacted := false // a source held the records, some only as placeholders
	for _, src := range srcs {
		recs, err := l.matching(ctx, src, n, newest, fs)
		var fork *ForkError
		if errors.As(err, &fork) {
			l.describe(ctx, fork, srcs)
			if fork.Record >= 0 {
				return nil, fork
			}
			err = fmt.Errorf("the records of %s, after the database's first %d, do not make the signed tree of %d: they are not the published records, or the database differs from them before record %d",
				src, n, fork.Size, n)
		}
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		if withheld := placeholders(n, recs); len(withheld) > 0 {
			redacted = true
			why = append(why, fmt.Sprintf("%s holds the right records, but %d of them (%s) are private records whose texts a mirror of /log never holds (it serves them redacted): "+
				"only the blob store's copy of the log (the state objects, used without --from when they are in the blob store) has them",
				src, len(withheld), clipIDs(withheld)))
			continue
		}
		r.Records, r.From = recs, src.String()
		return r, nil
	}
	if len(srcs) == 0 {
		why = append(why, "there is no mirror of /log to read them from: give one with --from URL|DIR")
	}
	err = fmt.Errorf("no source holds records %d to %d of the checkpoint of %d records in %s: %s",
		n, newest.signed.Tree.N-1, newest.signed.Tree.N, newest.src, strings.Join(why, "; "))
	if redacted {
		err = fmt.Errorf("%w: %w", ErrWithheld, err)
	}
	return nil, err
}

// matching reads records n onwards of the newest checkpoint from src and
// checks that, after the database's first n, they make its tree and the
// tree of every other checkpoint found.
func (l *Log) matching(ctx context.Context, src Source, n int64, newest *found, fs []found) ([][]byte, error) {
	m := newest.signed.Tree.N
	recs, err := src.Records(ctx, n, m)
	if err != nil {
		return nil, err
	}
	if int64(len(recs)) != m-n {
		return nil, fmt.Errorf("%s returned %d records, want %d", src, len(recs), m-n)
	}
	h := newHashes(ctx, l.store, n)
	if err := h.add(n, recs); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	for _, f := range append([]found{*newest}, fs...) {
		t := f.signed.Tree
		if t.N <= n {
			continue // held to the database already
		}
		root, err := tlog.TreeHash(t.N, h)
		if err != nil {
			return nil, err
		}
		if root != t.Hash {
			return nil, &ForkError{Size: t.N, Source: f.src, Got: root, Want: t.Hash, Record: -1,
				RecordSource: src.String()}
		}
	}
	return recs, nil
}

// placeholders returns the ids of the records of recs, the first being
// record first, that are private records' placeholders.
func placeholders(first int64, recs [][]byte) []int64 {
	var out []int64
	for i, r := range recs {
		if IsPlaceholder(r) {
			out = append(out, first+int64(i))
		}
	}
	return out
}

// clipIDs lists record ids for a message, the first few only.
func clipIDs(ids []int64) string {
	var b strings.Builder
	b.WriteString("record")
	if len(ids) > 1 {
		b.WriteString("s")
	}
	for i, id := range ids {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + strconv.FormatInt(id, 10))
	}
	return b.String()
}
