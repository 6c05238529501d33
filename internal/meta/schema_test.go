package meta_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

// An engine opens one new, empty database any number of times.
type engine struct {
	name string
	// fresh returns an opener of a new empty database.
	fresh func(t *testing.T) func(noMigrate bool) (*meta.DB, error)
}

var engines = []engine{
	{"sqlite", func(t *testing.T) func(bool) (*meta.DB, error) {
		path := filepath.Join(t.TempDir(), "trove.db")
		return func(noMigrate bool) (*meta.DB, error) {
			return meta.OpenSQLiteWith(context.Background(), path, meta.SQLiteOptions{NoMigrate: noMigrate})
		}
	}},
	{"postgres", func(t *testing.T) func(bool) (*meta.DB, error) {
		u := pgtest.NewDatabase(t)
		return func(noMigrate bool) (*meta.DB, error) {
			return meta.OpenPostgres(context.Background(), u, meta.PostgresOptions{MaxOpenConns: 4, NoMigrate: noMigrate})
		}
	}},
}

func opened(t *testing.T, open func(bool) (*meta.DB, error), noMigrate bool) *meta.DB {
	t.Helper()
	db, err := open(noMigrate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(ms []meta.Migration) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func upTo(n int64) []int64 {
	var out []int64
	for v := int64(1); v <= n; v++ {
		out = append(out, v)
	}
	return out
}

// TestSchemaUnmigrated: a database opened without migrating lacks every
// migration, CheckSchema says which, and Migrate applies each once.
func TestSchemaUnmigrated(t *testing.T) {
	ctx := context.Background()
	latest := meta.LatestSchema()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := opened(t, e.fresh(t), true)
			s, err := db.CheckSchema(ctx)
			var behind *meta.SchemaBehindError
			if !errors.As(err, &behind) || !errors.Is(err, meta.ErrSchemaBehind) || behind.Current != 0 ||
				!slices.Equal(versions(behind.Pending), upTo(latest)) {
				t.Fatalf("CheckSchema of an empty database = %v, want all %d migrations pending", err, latest)
			}
			if s.Newer() || s.Current() != 0 {
				t.Errorf("status of an empty database: newer %v, current %d", s.Newer(), s.Current())
			}
			done, err := db.Migrate(ctx)
			if err != nil || !slices.Equal(versions(done), upTo(latest)) {
				t.Fatalf("Migrate = %v, %v; want versions 1 to %d", versions(done), err, latest)
			}
			if done, err := db.Migrate(ctx); err != nil || len(done) != 0 {
				t.Errorf("second Migrate = %v, %v; want nothing to do", versions(done), err)
			}
			s, err = db.CheckSchema(ctx)
			if err != nil || s.Current() != latest || len(s.Pending()) != 0 || s.Newer() {
				t.Errorf("after Migrate: CheckSchema = %v, current %d, pending %v", err, s.Current(), versions(s.Pending()))
			}
		})
	}
}

// TestSchemaNewerDatabase: the previous release (a build that knows one
// migration fewer) opens a database the current one migrated, migrating
// or not: it works, sees the schema is newer, and changes nothing.
func TestSchemaNewerDatabase(t *testing.T) {
	ctx := context.Background()
	latest := meta.LatestSchema()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			open := e.fresh(t)
			opened(t, open, false).Close()
			meta.CapSchema(t, latest-1)
			if meta.LatestSchema() != latest-1 {
				t.Fatalf("LatestSchema with the cap = %d, want %d", meta.LatestSchema(), latest-1)
			}
			for _, noMigrate := range []bool{false, true} {
				db := opened(t, open, noMigrate)
				s, err := db.CheckSchema(ctx)
				if err != nil || !s.Newer() || !slices.Equal(s.Unknown, []int64{latest}) || s.Current() != latest {
					t.Fatalf("previous release, noMigrate %v: CheckSchema = %v, unknown %v, current %d", noMigrate, err, s.Unknown, s.Current())
				}
				if done, err := db.Migrate(ctx); err != nil || len(done) != 0 {
					t.Errorf("previous release: Migrate = %v, %v; want nothing", versions(done), err)
				}
				if _, err := db.Users(ctx); err != nil {
					t.Errorf("previous release reading the newer schema: %v", err)
				}
			}
		})
	}
}

// TestSchemaOlderDatabase: the current release on a database the previous
// one migrated needs exactly the one migration, and applies it.
func TestSchemaOlderDatabase(t *testing.T) {
	ctx := context.Background()
	latest := meta.LatestSchema()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			open := e.fresh(t)
			func() {
				meta.CapSchema(t, latest-1)
				opened(t, open, false).Close()
			}()
			meta.CapSchema(t, latest) // the cleanups restore in reverse order
			db := opened(t, open, true)
			_, err := db.CheckSchema(ctx)
			var behind *meta.SchemaBehindError
			if !errors.As(err, &behind) || behind.Current != latest-1 || !slices.Equal(versions(behind.Pending), []int64{latest}) {
				t.Fatalf("CheckSchema of the previous release's database = %v, want migration %d pending", err, latest)
			}
			if done, err := db.Migrate(ctx); err != nil || !slices.Equal(versions(done), []int64{latest}) {
				t.Fatalf("Migrate = %v, %v; want [%d]", versions(done), err, latest)
			}
		})
	}
}

// TestSchemaBadCap: a build linked with a malformed cap fails to open
// databases, saying so, rather than guessing.
func TestSchemaBadCap(t *testing.T) {
	open := engines[0].fresh(t)
	meta.CapSchema(t, 0)
	if db, err := open(false); err == nil {
		db.Close()
		t.Fatal("opened a database with a schema cap of 0")
	}
}

// TestPostgresMigrateConcurrently: trove migrate up run on several
// replicas at once applies each migration once, under the lock.
func TestPostgresMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	open := engines[1].fresh(t)
	const n = 3
	dbs := make([]*meta.DB, n)
	for i := range dbs {
		dbs[i] = opened(t, open, true)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []int64
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := db.Migrate(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			all = append(all, versions(done)...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	if latest := meta.LatestSchema(); !slices.Equal(all, upTo(latest)) {
		t.Errorf("concurrent Migrate applied %v, want each of 1 to %d once", all, latest)
	}
}
