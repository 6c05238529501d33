package meta

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestSQLiteMigrationsUnchanged: released migrations render for SQLite
// exactly as they did when they were released, so that databases created
// by earlier versions are what today's code expects. New migrations are
// appended to testdata/sqlite-migrations.golden when they are released.
func TestSQLiteMigrationsUnchanged(t *testing.T) {
	golden, err := os.ReadFile("testdata/sqlite-migrations.golden")
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := renderMigrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(golden), "-- file: ")[1:]
	if len(parts) < 6 {
		t.Fatalf("golden file holds %d migrations, want at least 6", len(parts))
	}
	for _, part := range parts {
		name, want, _ := strings.Cut(part, "\n")
		got, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Errorf("released migration %s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, []byte(want)) {
			t.Errorf("migration %s renders for SQLite differently from when it was released", name)
		}
	}
}
