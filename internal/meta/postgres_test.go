package meta_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/meta/metatest"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

func TestPostgres(t *testing.T) {
	metatest.Run(t, func(t *testing.T) *meta.DB { return pgtest.Open(t) })
}

// TestPostgresOpenConcurrently: replicas starting together migrate once
// (the others wait for the migration lock) and all open.
func TestPostgresOpenConcurrently(t *testing.T) {
	u := pgtest.NewDatabase(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := meta.OpenPostgres(context.Background(), u, meta.PostgresOptions{MaxOpenConns: 2})
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestPostgresErrorsHideThePassword: neither a refused connection nor a
// malformed connection string shows the password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "not-the-password-4f1d"
	u.User = url.UserPassword(u.User.Username(), secret)
	for _, conn := range []string{u.String(), "postgres://trove:" + secret + "@[::1", "host=127.0.0.1 password=" + secret + " port=x"} {
		db, err := meta.OpenPostgres(context.Background(), conn, meta.PostgresOptions{})
		if err == nil {
			db.Close()
			t.Fatalf("OpenPostgres with a wrong password succeeded")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("OpenPostgres error shows the password: %v", err)
		}
	}
}

// TestDumpAcrossEngines: a dump of SQLite loads into PostgreSQL and back,
// reading the same (the path from the embedded default to PostgreSQL).
func TestDumpAcrossEngines(t *testing.T) {
	sqlite := func(t *testing.T) *meta.DB { return dbtest.SQLite(t) }
	postgres := func(t *testing.T) *meta.DB { return pgtest.Open(t) }
	t.Run("SQLiteToPostgres", func(t *testing.T) { metatest.RunCopy(t, sqlite, postgres) })
	t.Run("PostgresToSQLite", func(t *testing.T) { metatest.RunCopy(t, postgres, sqlite) })
}
