package meta

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Schema versions
//
// A database's schema is the set of migrations applied to it, recorded by
// goose in goose_db_version. This build knows the migrations embedded in
// it; a database may lack some of them (it was made by an older Trove and
// not migrated yet: pending) or hold some this build does not know (a
// newer Trove migrated it). Migrations only expand the schema (new tables,
// columns with defaults, indexes; TestMigrationsExpandOnly), so a build
// runs on a database migrated by the next release: that is what lets
// replicas of two releases serve side by side during a rolling upgrade.
// It does not run on one that lacks migrations it knows.

// schemaCap, when set at link time (-ldflags "-X …/internal/meta.schemaCap=5"),
// makes this build know only the migrations up to that version: tests use
// it to build "the previous release" and run it against a database the
// current one migrated. Release builds leave it empty.
var schemaCap string

// contractMarker marks a migration that contracts the schema (drops or
// renames what an older release reads); see docs/operations.md, Upgrades.
const contractMarker = "-- trove:contract"

// A Migration is one schema migration this build knows.
type Migration struct {
	Version int64
	Name    string // its file name, like 00006_signin_unlocks.sql
	// Contract is true for a migration marked "-- trove:contract": the
	// previous release must no longer be running when it is applied.
	Contract bool
	Applied  bool // whether the database has it
}

// A SchemaStatus compares a database's schema with this build's migrations.
type SchemaStatus struct {
	// Migrations are this build's, oldest first, each applied or not.
	Migrations []Migration
	// Unknown are versions applied to the database that this build does
	// not know: a newer Trove migrated it.
	Unknown []int64
}

// Pending returns the migrations the database lacks.
func (s *SchemaStatus) Pending() []Migration {
	var out []Migration
	for _, m := range s.Migrations {
		if !m.Applied {
			out = append(out, m)
		}
	}
	return out
}

// Current returns the newest version applied to the database (0: none).
func (s *SchemaStatus) Current() int64 {
	var v int64
	for _, m := range s.Migrations {
		if m.Applied {
			v = max(v, m.Version)
		}
	}
	for _, u := range s.Unknown {
		v = max(v, u)
	}
	return v
}

// Newer reports whether a newer Trove migrated the database.
func (s *SchemaStatus) Newer() bool { return len(s.Unknown) > 0 }

// ErrSchemaBehind reports a database that lacks migrations this build
// needs. A *SchemaBehindError wraps it.
var ErrSchemaBehind = errors.New("the database schema is older than this trove")

// A SchemaBehindError reports the migrations a database lacks.
type SchemaBehindError struct {
	Current int64       // the newest version applied (0: an empty database)
	Pending []Migration // what this build needs applied
}

func (e *SchemaBehindError) Error() string {
	names := make([]string, len(e.Pending))
	for i, m := range e.Pending {
		names[i] = m.Name
	}
	return fmt.Sprintf("%v: it is at version %d and lacks %d migrations this trove needs (%s)",
		ErrSchemaBehind, e.Current, len(e.Pending), strings.Join(names, ", "))
}

func (e *SchemaBehindError) Unwrap() error { return ErrSchemaBehind }

// knownMigrations returns this build's migrations, oldest first.
func knownMigrations() ([]Migration, error) {
	limit := int64(-1)
	if schemaCap != "" {
		n, err := strconv.ParseInt(schemaCap, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("this trove was built with an invalid schema cap %q", schemaCap)
		}
		limit = n
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s has no version number", base)
		}
		if limit >= 0 && v > limit {
			continue
		}
		src, err := fs.ReadFile(migrations, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, Contract: strings.Contains(string(src), contractMarker)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(a.Version - b.Version) })
	return out, nil
}

// SchemaStatus reads which migrations the database has. It changes
// nothing: on a database never migrated, every migration is pending.
func (db *DB) SchemaStatus(ctx context.Context) (*SchemaStatus, error) {
	known, err := knownMigrations()
	if err != nil {
		return nil, err
	}
	applied, err := db.appliedVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the schema version: %w", err)
	}
	s := &SchemaStatus{Migrations: known}
	have := make(map[int64]bool, len(known))
	for i, m := range known {
		have[m.Version] = true
		s.Migrations[i].Applied = applied[m.Version]
	}
	for v := range applied {
		if !have[v] {
			s.Unknown = append(s.Unknown, v)
		}
	}
	slices.Sort(s.Unknown)
	return s, nil
}

// CheckSchema returns the database's status, or a *SchemaBehindError if
// it lacks migrations this build needs. A newer schema is not an error.
func (db *DB) CheckSchema(ctx context.Context) (*SchemaStatus, error) {
	s, err := db.SchemaStatus(ctx)
	if err != nil {
		return nil, err
	}
	if p := s.Pending(); len(p) > 0 {
		return s, &SchemaBehindError{Current: s.Current(), Pending: p}
	}
	return s, nil
}

// Migrate applies the migrations the database lacks, oldest first, and
// returns them. On PostgreSQL it holds the migration lock, so replicas and
// trove migrate up never migrate one database twice at once.
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	known, err := knownMigrations()
	if err != nil {
		return nil, err
	}
	applied, err := migrate(ctx, db.w, db.d)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range known {
		if slices.Contains(applied, m.Version) {
			m.Applied = true
			done = append(done, m)
		}
	}
	return done, nil
}

// appliedVersions returns the versions goose recorded as applied
// (without its version 0), or none if it never ran.
func (db *DB) appliedVersions(ctx context.Context) (map[int64]bool, error) {
	var exists bool
	var err error
	switch db.d.name {
	case sqliteDialect.name:
		var n int
		err = db.row(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&n)
		exists = n > 0
	case postgresDialect.name:
		err = db.row(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists)
	default:
		err = fmt.Errorf("schema versions on %s are not implemented", db.d.name)
	}
	if err != nil || !exists {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT version_id FROM goose_db_version WHERE is_applied AND version_id > 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]bool)
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}
