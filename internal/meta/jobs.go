package meta

import (
	"context"
	"errors"
	"time"
)

// Jobs
//
// A background job (a scrub, the sweep of abandoned uploads) runs on one
// replica at a time and once per interval across all of them. Its row in
// the jobs table is claimed with SELECT … FOR UPDATE SKIP LOCKED: replicas
// asking at once do not wait for each other, the losers just see no row.
// The claim writes a lease; the holder renews it while it works and
// records when it finished. A holder that dies stops renewing, and once
// its lease has run out another replica claims the job. On SQLite (one
// process) the same rows keep the schedule across restarts.

// ErrLeaseLost is what RenewJob returns when the lease is no longer the
// holder's: it ran out and another replica claimed the job.
var ErrLeaseLost = errors.New("the job's lease was lost to another holder")

// ClaimJob leases the job called name to holder until now+lease if no
// one else holds a lease on it and it last finished at least every ago.
// It reports whether the job is now holder's to run.
func (db *DB) ClaimJob(ctx context.Context, name, holder string, every, lease time.Duration, now time.Time) (bool, error) {
	claimed := false
	err := db.Tx(ctx, func(tx *Tx) error {
		claimed = false
		if _, err := tx.exec(ctx, `INSERT INTO jobs (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		var who string
		var until, finished int64
		err := tx.row(ctx, `SELECT holder, lease_until, finished_at FROM jobs WHERE name = ?`+tx.d.skipLocked, name).
			Scan(&who, &until, &finished)
		if err = tx.err(err); errors.Is(err, ErrNotFound) {
			return nil // another replica is claiming it right now
		} else if err != nil {
			return err
		}
		at := now.UnixMicro()
		if until > at && who != holder || finished > now.Add(-every).UnixMicro() {
			return nil
		}
		_, err = tx.exec(ctx, `UPDATE jobs SET holder = ?, lease_until = ? WHERE name = ?`, holder, now.Add(lease).UnixMicro(), name)
		claimed = err == nil
		return err
	})
	return claimed, err
}

// RenewJob extends holder's lease on the job to now+lease, or returns
// ErrLeaseLost if the job is no longer holder's.
func (db *DB) RenewJob(ctx context.Context, name, holder string, lease time.Duration, now time.Time) error {
	return db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE jobs SET lease_until = ? WHERE name = ? AND holder = ? AND lease_until > ?`,
			now.Add(lease).UnixMicro(), name, holder, now.UnixMicro())
		if err := affected(res, err); errors.Is(err, ErrNotFound) {
			return ErrLeaseLost
		} else if err != nil {
			return err
		}
		return nil
	})
}

// FinishJob ends holder's lease on the job. done says the job ran to its
// end, which starts its next interval; otherwise (it failed, or the
// process is stopping) any replica may claim it again at once.
func (db *DB) FinishJob(ctx context.Context, name, holder string, done bool, now time.Time) error {
	return db.Tx(ctx, func(tx *Tx) error {
		q := `UPDATE jobs SET lease_until = 0 WHERE name = ? AND holder = ?`
		args := []any{name, holder}
		if done {
			q = `UPDATE jobs SET lease_until = 0, finished_at = ? WHERE name = ? AND holder = ?`
			args = []any{now.UnixMicro(), name, holder}
		}
		if err := affected(tx.exec(ctx, q, args...)); errors.Is(err, ErrNotFound) {
			return ErrLeaseLost
		} else if err != nil {
			return err
		}
		return nil
	})
}
