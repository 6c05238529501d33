// Package meta stores Trove's metadata (accounts, tokens, packages,
// releases, files, tags, the change feed) in a SQL database through
// database/sql.
//
// There is one concrete type, [DB], and one SQL text for every engine: the
// few differences between engines (placeholders, identity columns, error
// codes) live in the dialect table below. SQLite (pure Go, WAL) is the
// embedded default; the SQL is kept to the subset PostgreSQL also runs.
//
// # Conventions
//
//   - Reads go through DB; writes only through a Tx from [DB.Tx], which also
//     offers every read, so a write can read its own state consistently.
//   - Times are stored as BIGINT Unix microseconds (UTC), booleans as
//     INTEGER 0/1, JSON as TEXT, digests as lowercase hex TEXT.
//   - Lookups use structured keys (ecosystem, name, version key), never
//     strings concatenated from them.
//   - Rows of releases and files are never deleted: deletion is a state
//     ("deleted") kept as a tombstone, so a name@version or a filename can
//     never be reused.
//
// # Errors
//
// Missing rows are reported as [ErrNotFound]; a write that would break a
// uniqueness constraint as [ErrConflict]. Both are translated from the
// driver's native errors here, and metatest checks the translation.
package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflicts with an existing record")
)

// A dialect holds what differs between database engines.
type dialect struct {
	name string
	// id is the column definition of an auto-assigned, never-reused key.
	id string
	// text is the type of text columns: compared and ordered byte by byte
	// on every engine, whatever the database's default collation.
	text string
	// bytes is the type of binary columns.
	bytes string
	// dollar is true when placeholders are $1, $2 … instead of ?.
	dollar bool
	// unique reports whether err is a uniqueness violation.
	unique func(err error) bool
	// forUpdate is appended to a SELECT to lock the rows it reads until
	// the transaction ends ("" where writers already serialize).
	forUpdate string
	// forShare is appended to a SELECT to keep the rows it reads from
	// changing until the transaction ends ("" where writers serialize).
	forShare string
	// advisory is true when transactions take advisory locks (see lock.go);
	// engines whose writers serialize need none.
	advisory bool
	// skipLocked is appended to a SELECT to lock the rows it reads and
	// skip those another transaction holds ("" where writers serialize).
	skipLocked string
}

var sqliteDialect = dialect{
	name:   "sqlite3",
	id:     "INTEGER PRIMARY KEY AUTOINCREMENT",
	text:   "TEXT",
	bytes:  "BLOB",
	dollar: false,
	unique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
}

// DB is the metadata database. It is safe for concurrent use.
type DB struct {
	q
	w *sql.DB // writes; one connection for SQLite, whose writers serialize anyway
	r *sql.DB // reads; the same pool as w on PostgreSQL
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// SQLiteOptions say how a SQLite database is opened.
type SQLiteOptions struct {
	// NoMigrate opens the database as it is, without applying the
	// migrations it lacks (see CheckSchema and Migrate).
	NoMigrate bool
}

// OpenSQLiteWith is OpenSQLite with options.
func OpenSQLiteWith(ctx context.Context, path string, o SQLiteOptions) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	dsn := func(readOnly bool) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(FULL)")
		if readOnly {
			v.Add("_pragma", "query_only(1)")
		} else {
			v.Set("_txlock", "immediate")
		}
		return "file:" + path + "?" + v.Encode()
	}
	w, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if !o.NoMigrate {
		if _, err := migrate(ctx, w, sqliteDialect); err != nil {
			w.Close()
			return nil, err
		}
	}
	r, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxIdleTime(0)
	return &DB{q: q{x: r, d: sqliteDialect}, w: w, r: r}, nil
}

// Close closes the database.
func (db *DB) Close() error {
	if db.r == db.w {
		return db.w.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.r.PingContext(ctx)
}

// A Tx is a write transaction. It offers every read of DB as well.
type Tx struct {
	q
	tx *sql.Tx
	// sequenced is true once the transaction holds the sequencer lock.
	sequenced bool
}

// Tx runs fn in a write transaction and commits it if fn returns nil.
// Any error, or a panic, rolls it back.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	tx := &Tx{q: q{x: stx, d: db.d}, tx: stx}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
		if err != nil {
			stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// A Snapshot reads a consistent view of the database: every query in it
// sees the same committed state.
type Snapshot struct {
	q
}

// Snapshot runs fn with a read-only transaction.
//
// A read-only transaction alone is not a snapshot on every engine: on
// PostgreSQL, READ ONLY at the default READ COMMITTED level lets each
// statement see the commits made since the one before. So it asks for
// REPEATABLE READ, under which PostgreSQL reads every statement from the
// transaction's one snapshot. SQLite ignores the level: in WAL mode a read
// transaction sees one snapshot, taken at its first read, until it ends.
func (db *DB) Snapshot(ctx context.Context, fn func(s *Snapshot) error) error {
	stx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("beginning read transaction: %w", err)
	}
	defer stx.Rollback()
	return fn(&Snapshot{q: q{x: stx, d: db.d}})
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q runs queries written with ? placeholders on one engine.
type q struct {
	x querier
	d dialect
}

func (q q) rebind(query string) string {
	if !q.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (q q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.x.ExecContext(ctx, q.rebind(query), args...)
	return res, q.err(err)
}

func (q q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.x.QueryContext(ctx, q.rebind(query), args...)
	return rows, q.err(err)
}

func (q q) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.x.QueryRowContext(ctx, q.rebind(query), args...)
}

// insert runs an INSERT … RETURNING id and returns the id.
func (q q) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := q.row(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, q.err(err)
}

// err translates driver errors into this package's sentinels.
func (q q) err(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case q.d.unique(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// affected returns ErrNotFound if res changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// micros converts t to the stored form; the zero time is stored as NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeOf converts a stored time back; NULL becomes the zero time.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
