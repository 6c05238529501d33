package meta

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// signingLockKey is the session advisory lock held while the
// transparency log signs (the bytes "trovesig").
const signingLockKey int64 = 0x74726f7665736967

// LockSigning blocks until no other process sharing the database is
// signing the transparency log, and returns the function that lets the
// next one in (translog.SignLocker). On PostgreSQL it holds a session
// advisory lock on a connection of its own: a process that dies while
// signing loses its connection and with it the lock. SQLite has one
// process, whose Log serializes its own signatures: there it returns at
// once.
//
// Signing reads the log's size, signs that tree and writes the checkpoint
// to the blob store, which has no compare-and-swap: under this lock the
// kept checkpoint and the state store's copy of the records only grow.
func (db *DB) LockSigning(ctx context.Context) (unlock func(), err error) {
	if !db.d.advisory {
		return func() {}, nil
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the signing lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, signingLockKey); err != nil {
		discard(conn)
		return nil, fmt.Errorf("taking the signing lock: %w", err)
	}
	return func() {
		// A connection whose unlock failed may still hold the lock: it
		// must not go back to the pool.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, signingLockKey); err != nil {
			discard(conn)
			return
		}
		conn.Close()
	}, nil
}

// sqlConn is what discard needs of *sql.Conn.
type sqlConn interface {
	Raw(func(any) error) error
	Close() error
}

// discard closes the connection for good instead of returning it to the
// pool, ending its session and the session's locks.
func discard(conn sqlConn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// Shared reports whether several processes may share the database: true
// on PostgreSQL, where replicas coordinate through it (the signing lock,
// job leases, shared rate limits); false on SQLite, opened by one process.
func (db *DB) Shared() bool { return db.d.advisory }
