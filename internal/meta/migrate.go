package meta

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
	"text/template"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Migrations are goose SQL files, run in order, each once. They are
// text/template files so that one text serves every engine: {{.ID}} is the
// dialect's auto-assigned key column and {{.Text}} its text type (TEXT on
// SQLite, TEXT COLLATE "C" on PostgreSQL), {{.Bytes}} its binary type, and
// {{if .Postgres}} … {{else}} … {{end}} holds what only one engine can say
// (triggers). Never edit a migration that has
// been released; add a new one. What SQLite gets is pinned by
// testdata/sqlite-migrations.golden.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate brings the schema up to date and returns the versions it
// applied (none where another process, holding the lock, applied them).
func migrate(ctx context.Context, db *sql.DB, d dialect) ([]int64, error) {
	fsys, err := renderMigrations(d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if d.name == postgresDialect.name {
		// Replicas starting together: one migrates, the others wait for it.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockKey), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("preparing migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(database.Dialect(d.name), db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating database: %w", err)
	}
	var done []int64
	for _, r := range res {
		done = append(done, r.Source.Version)
	}
	return done, nil
}

// renderMigrations renders the migrations this build knows for d.
func renderMigrations(d dialect) (fs.FS, error) {
	known, err := knownMigrations()
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	vars := struct {
		ID, Text, Bytes string
		Postgres        bool
	}{ID: d.id, Text: d.text, Bytes: d.bytes, Postgres: d.name == postgresDialect.name}
	for _, m := range known {
		path := "migrations/" + m.Name
		src, err := migrations.ReadFile(path)
		if err != nil {
			return nil, err
		}
		t, err := template.New(path).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parsing migration %s: %w", path, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, vars); err != nil {
			return nil, fmt.Errorf("rendering migration %s: %w", path, err)
		}
		out[m.Name] = &fstest.MapFile{Data: b.Bytes()}
	}
	return out, nil
}
