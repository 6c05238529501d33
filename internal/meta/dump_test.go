package meta

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestDumpTablesCoverSchema checks that a dump holds every table of the
// schema, each after the tables its foreign keys point at.
func TestDumpTablesCoverSchema(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	rows, err := db.query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
		var n string
		return n, s.Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	dumped := slices.Sorted(slices.Values(append(DumpTables(), ephemeralTables...)))
	if !slices.Equal(schema, dumped) {
		t.Fatalf("tables of the schema %v, tables a dump holds %v", schema, dumped)
	}
	order := DumpTables()
	for i, table := range order {
		rows, err := db.query(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		parents, err := collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
			var n string
			return n, s.Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parents {
			if j := slices.Index(order, p); j >= i {
				t.Errorf("table %s is dumped before %s, which its foreign key points at", table, p)
			}
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	db := openTest(t)
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v != LatestSchema() || v < 6 {
		t.Errorf("SchemaVersion = %d, %v; LatestSchema = %d", v, err, LatestSchema())
	}
}

// TestDumpInvalidUTF8 checks that text which is not UTF-8 (SQLite keeps
// whatever bytes it is given) survives a dump and a load unchanged.
func TestDumpInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	odd := "caf\xe9 \xff\xfe"
	if err := src.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO signin_unlocks (name, unlocked_at) VALUES (?, ?)`, odd, int64(-1)<<62)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	if err := src.Snapshot(ctx, func(s *Snapshot) error {
		_, err := s.DumpTable(ctx, "signin_unlocks", &dump)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump.String(), `{"base64":"Y2Fm6SD//g=="}`) {
		t.Errorf("dump = %s, want the name as base64", dump.String())
	}
	if err := dst.Tx(ctx, func(tx *Tx) error { _, err := tx.LoadTable(ctx, "signin_unlocks", &dump); return err }); err != nil {
		t.Fatal(err)
	}
	var name string
	var at int64
	if err := dst.row(ctx, `SELECT name, unlocked_at FROM signin_unlocks`).Scan(&name, &at); err != nil {
		t.Fatal(err)
	}
	if name != odd || at != int64(-1)<<62 {
		t.Errorf("loaded %q, %d; want %q, %d", name, at, odd, int64(-1)<<62)
	}
}
