package translog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// A StateStore keeps small named objects outside the database, so that
// they survive a database restored from an older backup. blob.Store
// provides it (cmd/trove adapts its errors).
type StateStore interface {
	// ReadState returns the object called name, or an error wrapping
	// ErrNotFound if it was never written.
	ReadState(ctx context.Context, name string) ([]byte, error)
	// WriteState replaces the object called name atomically.
	WriteState(ctx context.Context, name string, data []byte) error
}

// CheckpointState is the name of the state object holding the newest
// checkpoint the log signed.
const CheckpointState = "checkpoint"

// StateGroup is how many records one state object of a StateMirror
// holds: eight records of the largest size (MaxRecordSize) fit the
// smallest limit a StateStore may have (1 MiB).
const StateGroup = 8

// A StateMirror keeps a copy of the log in a StateStore, written as the
// log signs: the checkpoint (CheckpointState), and the records in groups
// of StateGroup, entry-bundle encoded, as "log-entries-<k>" for records
// k*StateGroup onwards. A group is rewritten while it fills, and never
// changes once full. Records are written before the checkpoint that
// covers them, so the copy holds every record its checkpoint signs.
//
// With an S3 blob store the copy lives apart from the database: a
// database restored from an old backup recovers from it alone.
type StateMirror struct{ s StateStore }

// NewStateMirror returns the mirror kept in s.
func NewStateMirror(s StateStore) *StateMirror { return &StateMirror{s: s} }

func (m *StateMirror) String() string { return "the blob store" }

// Checkpoint returns the checkpoint kept in the store.
func (m *StateMirror) Checkpoint(ctx context.Context) ([]byte, error) {
	return m.s.ReadState(ctx, CheckpointState)
}

func groupName(k int64) string { return "log-entries-" + strconv.FormatInt(k, 10) }

// Records returns records start through end-1 from the store.
func (m *StateMirror) Records(ctx context.Context, start, end int64) ([][]byte, error) {
	var out [][]byte
	for k := start / StateGroup; k*StateGroup < end; k++ {
		data, err := m.s.ReadState(ctx, groupName(k))
		if err != nil {
			return nil, fmt.Errorf("%s: records %d onwards: %w", m, k*StateGroup, err)
		}
		recs, err := ParseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m, groupName(k), err)
		}
		need := min(end-k*StateGroup, StateGroup)
		if int64(len(recs)) < need {
			return nil, fmt.Errorf("%s: %s holds %d records, want %d: %w", m, groupName(k), len(recs), need, ErrNotFound)
		}
		lo := max(start-k*StateGroup, 0)
		out = append(out, recs[lo:need]...)
	}
	return out, nil
}

// write copies records from through to-1 of s into the store: every
// group they touch, whole.
func (m *StateMirror) write(ctx context.Context, s Store, from, to int64) error {
	for k := from / StateGroup; k*StateGroup < to; k++ {
		first := k * StateGroup
		recs, err := s.ReadLogRecords(ctx, first, min(to-first, StateGroup))
		if err != nil {
			return fmt.Errorf("copying records to %s: %w", m, err)
		}
		b, err := AppendBundle(nil, recs...)
		if err != nil {
			return err
		}
		if err := m.s.WriteState(ctx, groupName(k), b); err != nil {
			return fmt.Errorf("copying records to %s: %w", m, err)
		}
	}
	return nil
}

// errNoState is what a store without the checkpoint object returns.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
