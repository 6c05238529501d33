package registry

import (
	"context"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// FollowInterval is how often Follow reads the change feed. Changes made
// by this process reach its caches at once; changes made by other
// replicas within this interval.
const FollowInterval = time.Second

// StaleQuarantine is the age after which a quarantined upload that is not
// held for review is known to be abandoned (its process died mid-publish)
// and is discarded, freeing its version again. No publish request runs
// this long.
const StaleQuarantine = time.Hour

// MirrorInterval is how often Follow reads the checkpoints of the
// transparency log's mirrors (translog.Log.Refresh).
const MirrorInterval = time.Minute

// Follow reads the change feed until ctx is done, telling watchers about
// changes made by other replicas and signing the transparency log's new
// tree, reads the log's mirrors every MirrorInterval, and discards
// abandoned quarantined uploads. It starts at the feed's current end. A
// database found behind the newest checkpoint makes the log read-only
// (translog.BehindError) and Follow goes on: when the missing records
// are recovered, it signs again and writes are allowed. It returns an
// error only when the log forked (translog.ErrFork): the server must then
// stop serving.
func (s *Service) Follow(ctx context.Context) error {
	last, err := s.db.LastSerial(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(FollowInterval)
	defer tick.Stop()
	sweep, mirrors := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		changes, err := s.db.ChangesSince(ctx, last, 1000)
		if err != nil {
			log().Warn("reading change feed", "err", err)
			continue
		}
		for _, c := range changes {
			s.changed(trove.Ecosystem(c.Ecosystem), trove.Name(c.Name))
			last = c.Serial
		}
		if len(changes) > 0 || s.log != nil && s.log.Writable() != nil {
			err := s.sign(ctx)
			switch {
			case errors.Is(err, translog.ErrFork):
				return err
			case err != nil && !errors.Is(err, translog.ErrRollback):
				log().Warn("signing the transparency log", "err", err)
			}
		}
		if s.log != nil && time.Since(mirrors) > MirrorInterval {
			mirrors = time.Now()
			if err := s.log.Refresh(ctx); errors.Is(err, translog.ErrFork) {
				return err
			} else if err != nil {
				log().Warn("reading the transparency log's checkpoints", "err", err)
			}
		}
		if time.Since(sweep) > StaleQuarantine/4 {
			sweep = time.Now()
			if err := s.sweepQuarantine(ctx, now(s).Add(-StaleQuarantine)); err != nil {
				log().Warn("discarding abandoned uploads", "err", err)
			}
		}
	}
}

// sweepQuarantine discards quarantined uploads created before cutoff.
func (s *Service) sweepQuarantine(ctx context.Context, cutoff time.Time) error {
	ids, err := s.db.QuarantinedBefore(ctx, cutoff)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.DiscardQuarantined(ctx, id) }); err != nil {
			return err
		}
		log().Info("discarded abandoned upload", "release", id)
	}
	return nil
}
