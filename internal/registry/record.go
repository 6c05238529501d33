package registry

import (
	"context"
	"fmt"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// A Recorder applies the state change that a log record of its kind
// describes: records about no package release, such as curation
// decisions (internal/curate), which Record appends. The record must
// carry every fact the change needs, so that recovery (Replay) can make
// the change again from the record alone.
type Recorder interface {
	// Apply makes the change ev describes within tx. It is called by
	// Record with the event it is given, and by Replay with the event
	// parsed from the record. Errors are returned as they are.
	Apply(ctx context.Context, tx *meta.Tx, ev *translog.Event) error
}

// Register makes r the Recorder of log records of the kind. Call it while
// setting up, before the service is used; a kind that the registry writes
// itself, or registered twice, is a programming error.
func (s *Service) Register(kind string, r Recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "publish", "proxy", "except", "yank", "unyank", "deprecate", "delete", "tag", "owner", "access", "takedown", "quarantine", "unquarantine":
		panic(fmt.Sprintf("registry: kind %q is the registry's own", kind))
	}
	if s.recorders == nil {
		s.recorders = make(map[string]Recorder)
	}
	if _, ok := s.recorders[kind]; ok {
		panic(fmt.Sprintf("registry: kind %q registered twice", kind))
	}
	s.recorders[kind] = r
}

// recorder returns the Recorder of a kind, or nil.
func (s *Service) recorder(kind string) Recorder {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.recorders[kind]
}

// Record makes the change that ev describes with the Recorder registered
// for ev.Kind and, in the same transaction, appends ev to the
// transparency log (indexed under its ecosystem, name and version) and to
// the change feed under its ecosystem and name, which need not be a
// package's (a pattern such as "@acme/*" is passed to watchers as it is).
// Watchers hear of it at once, other replicas through the feed; the log is
// signed after the commit. Authorization is the caller's. While the log is
// read-only it is ErrUnavailable.
//
// check, if not nil, runs first in the transaction: the caller's
// precondition (what it read before building ev is still so); its error
// is returned as it is and nothing is changed.
func (s *Service) Record(ctx context.Context, ev *translog.Event, check func(context.Context, *meta.Tx) error) error {
	if err := s.writable(); err != nil {
		return err
	}
	r := s.recorder(ev.Kind)
	if r == nil {
		return fmt.Errorf("registry: no recorder for %q records", ev.Kind)
	}
	if _, err := ev.Format(); err != nil {
		return trove.Error(trove.ErrInvalid, "%w", err)
	}
	s.note(ctx, trove.Ecosystem(ev.Ecosystem), ev.Name, ev.Version)
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		if check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		if err := r.Apply(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		_, err := tx.AddFeedEntry(ctx, trove.Ecosystem(ev.Ecosystem), ev.Name, ev.Kind, ev.Time)
		return err
	})
	if err != nil {
		return err
	}
	s.changed(trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name))
	return s.sign(context.WithoutCancel(ctx))
}

// replayRecorded replays a record of a registered kind, if it is one:
// the Recorder's change, then the record itself, byte for byte, with its
// index and feed entries.
func (s *Service) replayRecorded(ctx context.Context, tx *meta.Tx, id int64, text []byte) (bool, error) {
	ev, err := translog.ParseEvent(text)
	if err != nil {
		return false, fmt.Errorf("record %d: %w", id, err)
	}
	r := s.recorder(ev.Kind)
	if r == nil {
		return false, nil
	}
	if err := r.Apply(ctx, tx, ev); err != nil {
		return true, fmt.Errorf("record %d (%s %s %s): %w", id, ev.Kind, ev.Ecosystem, ev.Name, err)
	}
	got, err := translog.Append(ctx, tx, text)
	if err != nil {
		return true, err
	}
	if got != id {
		return true, fmt.Errorf("record %d (%s %s %s): it would be appended as record %d: the log changed while recovering; run the recovery again", id, ev.Kind, ev.Ecosystem, ev.Name, got)
	}
	if err := tx.IndexLogRecord(ctx, trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name), ev.Version, ev.Kind, id); err != nil {
		return true, err
	}
	_, err = tx.AddFeedEntry(ctx, trove.Ecosystem(ev.Ecosystem), ev.Name, ev.Kind, ev.Time)
	return true, err
}
