// Package dbtest opens fresh metadata databases for tests, on either
// engine: SQLite in a temporary directory, or PostgreSQL through pgtest.
//
// Open picks the engine that $TROVE_TEST_DB names ("sqlite", the default,
// or "postgres"), so that whole suites (the registry's, the server's
// through servertest) run on both: `TROVE_TEST_DB=postgres go test ./...`.
// Tests of races that only concurrent writers show run on every engine
// with Engines.
package dbtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

// Env is the environment variable that selects Open's engine.
const Env = "TROVE_TEST_DB"

// An Engine opens fresh databases of one kind.
type Engine struct {
	Name string
	Open func(t testing.TB) *meta.DB
}

// Engines are every engine, for tests that run on each.
var Engines = []Engine{{"sqlite", SQLite}, {"postgres", pgtest.Open}}

// Open returns a fresh, migrated database on the engine $TROVE_TEST_DB
// names, closed when t ends.
func Open(t testing.TB) *meta.DB {
	t.Helper()
	switch e := os.Getenv(Env); e {
	case "", "sqlite":
		return SQLite(t)
	case "postgres":
		return pgtest.Open(t)
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", Env, e)
		return nil
	}
}

// SQLite returns a fresh SQLite database in a temporary directory,
// closed when t ends.
func SQLite(t testing.TB) *meta.DB {
	t.Helper()
	db, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
