package meta

import (
	"context"
	"math/rand/v2"
	"time"
)

// Shared rate limits
//
// TakeRate decides one event of a rate limit shared by every process on
// the database, by GCRA (the generic cell rate algorithm, the token bucket
// written as one timestamp): a key's row holds its theoretical arrival
// time tat. An event at now is allowed if max(tat, now) + interval - burst
// <= now, where interval = Per/N and burst = Per (N events at once from a
// full bucket); then tat moves to max(tat, now) + interval. One UPSERT …
// RETURNING per decision, so concurrent decisions on one key serialize on
// its row and never both take the last event.
//
// A row whose tat has passed is a full bucket, the same as no row: rows
// are deleted once they are, a few at a time, by the decisions themselves
// (one in sweepEvery), so the table holds only keys that were used within
// their period.

// sweepEvery is how many decisions, on average, one sweep of full buckets
// follows.
const sweepEvery = 256

// sweepBatch bounds the rows one sweep deletes.
const sweepBatch = 1000

// TakeRate takes one event from the bucket's key, allowing n events per
// per. It reports whether the event is allowed and, if not, how long until
// one is.
func (db *DB) TakeRate(ctx context.Context, bucket, key string, n int, per time.Duration, now time.Time) (bool, time.Duration, error) {
	interval := per.Microseconds() / int64(n)
	burst := per.Microseconds()
	at := now.UnixMicro()
	var tat int64
	var allowed int
	err := db.q.err(db.w.QueryRowContext(ctx, db.rebind(`INSERT INTO rate_limits (bucket, name, tat, allowed) VALUES (?, ?, ?, 1)
		ON CONFLICT (bucket, name) DO UPDATE SET
		  allowed = CASE WHEN (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ? - ? <= ? THEN 1 ELSE 0 END,
		  tat     = CASE WHEN (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ? - ? <= ?
		                 THEN (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ?
		                 ELSE rate_limits.tat END
		RETURNING tat, allowed`),
		bucket, key, at+interval,
		at, at, interval, burst, at,
		at, at, interval, burst, at,
		at, at, interval,
	).Scan(&tat, &allowed))
	if err != nil {
		return false, 0, err
	}
	if rand.IntN(sweepEvery) == 0 {
		db.SweepRates(ctx, now)
	}
	if allowed == 1 {
		return true, 0, nil
	}
	return false, time.Duration(tat+interval-burst-at) * time.Microsecond, nil
}

// SweepRates deletes up to sweepBatch rows whose bucket is full again at
// now. TakeRate calls it now and then; its errors only delay the cleanup.
func (db *DB) SweepRates(ctx context.Context, now time.Time) error {
	at := now.UnixMicro()
	_, err := db.w.ExecContext(ctx, db.rebind(`DELETE FROM rate_limits WHERE tat IN
		(SELECT tat FROM rate_limits WHERE tat <= ? LIMIT ?) AND tat <= ?`), at, sweepBatch, at)
	return db.q.err(err)
}

// RateKeys returns how many keys the shared rate limits hold.
func (q q) RateKeys(ctx context.Context) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COUNT(*) FROM rate_limits`).Scan(&n)
	return n, q.err(err)
}
