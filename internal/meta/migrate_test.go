package meta

import (
	"bytes"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// expandOnly are the statements a migration's Up section may hold, so that
// a server one version behind keeps working on the migrated schema during
// a rolling upgrade (docs/operations.md, "Upgrades"): new tables, new
// indexes, new columns that have a default, seed rows, and trigger
// functions (a function changes no table; the triggers that use one must
// be on a table of the same migration: see newTableTrigger).
var expandOnly = []*regexp.Regexp{
	regexp.MustCompile(`(?is)^CREATE TABLE\s`),
	regexp.MustCompile(`(?is)^CREATE (UNIQUE )?INDEX\s`),
	regexp.MustCompile(`(?is)^ALTER TABLE \w+ ADD COLUMN \w+ [^;]*$`),
	regexp.MustCompile(`(?is)^INSERT INTO\s`),
	regexp.MustCompile(`(?is)^CREATE FUNCTION \w+\(\) RETURNS trigger\s`),
}

var (
	createTable = regexp.MustCompile(`(?is)^CREATE TABLE (\w+)\s`)
	trigger     = regexp.MustCompile(`(?is)^CREATE TRIGGER \w+\s+(BEFORE|AFTER)\s[^;]*?\sON\s+(\w+)\s`)
)

// newTableTrigger reports whether stmt creates a trigger on one of the
// tables the same migration creates: a server one release behind never
// touches those, so their triggers cannot break it.
func newTableTrigger(stmt string, created map[string]bool) bool {
	m := trigger.FindStringSubmatch(stmt)
	return m != nil && created[strings.ToLower(m[2])]
}

// A migration that must contract the schema (drop or rename something
// the previous release still reads) says so with contractMarker, and is
// released only after a release that no longer reads what it removes.

func TestMigrationsExpandOnly(t *testing.T) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	// Each engine's rendering is checked: what one engine says only it
	// runs ({{if .Postgres}}).
	rendered := map[string]fs.FS{}
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		if rendered[d.name], err = renderMigrations(d); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if n, err := strconv.Atoi(num); err != nil || n != i+1 || len(num) != 5 {
			t.Errorf("%s: migrations are numbered 00001, 00002, … without gaps; want %05d", e.Name(), i+1)
		}
		src, err := fs.ReadFile(migrations, "migrations/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		up, down, ok := strings.Cut(text, "-- +goose Down")
		if !ok || !strings.Contains(up, "-- +goose Up") || strings.TrimSpace(down) == "" {
			t.Errorf("%s: want a -- +goose Up and a non-empty -- +goose Down section", e.Name())
			continue
		}
		if strings.Contains(text, contractMarker) {
			continue
		}
		for engine, fsys := range rendered {
			src, err := fs.ReadFile(fsys, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			up, _, _ := strings.Cut(string(src), "-- +goose Down")
			stmts := statements(up)
			created := map[string]bool{}
			for _, stmt := range stmts {
				if m := createTable.FindStringSubmatch(stmt); m != nil {
					created[strings.ToLower(m[1])] = true
				}
			}
			for _, stmt := range stmts {
				if !matchesAny(stmt) && !newTableTrigger(stmt, created) {
					t.Errorf("%s (%s): %q is not an expanding statement (new table, index, column with a default, rows, or a trigger on a new table); a server one release behind would break on it during a rolling upgrade", e.Name(), engine, firstLine(stmt))
				}
				if isAddColumn(stmt) && strings.Contains(strings.ToUpper(stmt), "NOT NULL") && !strings.Contains(strings.ToUpper(stmt), "DEFAULT") {
					t.Errorf("%s (%s): %q adds a NOT NULL column without a default; the previous release's inserts would fail", e.Name(), engine, firstLine(stmt))
				}
			}
		}
	}
}

// statements splits a migration section into statements without comments;
// what goose runs as one statement (between -- +goose StatementBegin and
// StatementEnd: a trigger's body has semicolons) is one.
func statements(section string) []string {
	var out []string
	var b strings.Builder
	split := func() {
		for _, s := range strings.Split(b.String(), ";") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		b.Reset()
	}
	block := false
	for _, line := range strings.Split(section, "\n") {
		switch strings.TrimSpace(line) {
		case "-- +goose StatementBegin":
			split()
			block = true
			continue
		case "-- +goose StatementEnd":
			if s := strings.TrimSuffix(strings.TrimSpace(b.String()), ";"); s != "" {
				out = append(out, strings.TrimSpace(s))
			}
			b.Reset()
			block = false
			continue
		}
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	if !block {
		split()
	}
	return out
}

func matchesAny(stmt string) bool {
	for _, re := range expandOnly {
		if re.MatchString(stmt) {
			return true
		}
	}
	return false
}

func isAddColumn(stmt string) bool { return expandOnly[2].MatchString(stmt) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestStatementsCatchContraction(t *testing.T) {
	for stmt, want := range map[string]bool{
		"CREATE TABLE x (id BIGINT)":                                    true,
		"CREATE UNIQUE INDEX i ON x (id)":                               true,
		"ALTER TABLE x ADD COLUMN y TEXT NOT NULL DEFAULT ''":           true,
		"ALTER TABLE x DROP COLUMN y":                                   false,
		"ALTER TABLE x RENAME COLUMN y TO z":                            false,
		"DROP TABLE x":                                                  false,
		"UPDATE x SET y = 1":                                            false,
		"ALTER TABLE x ADD COLUMN y TEXT; DROP TABLE z":                 false,
		"ALTER TABLE x ADD COLUMN y TEXT -- fine\n":                     true,
		"ALTER TABLE x ALTER COLUMN y TYPE BIGINT":                      false,
		"CREATE TABLE x (id BIGINT);\nALTER TABLE x RENAME TO y":        false,
		"INSERT INTO settings (k, v) VALUES ('a', 'b')":                 true,
		"ALTER TABLE x ADD COLUMN y TEXT NOT NULL DEFAULT ''; SELECT 1": false,
		"CREATE TABLE t (id BIGINT);\n-- +goose StatementBegin\nCREATE TRIGGER n BEFORE UPDATE ON t\nBEGIN\n SELECT RAISE(ABORT, 'no');\nEND;\n-- +goose StatementEnd\n": true,
		"CREATE TRIGGER n BEFORE UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION f()":                                                                                false,
		"CREATE TABLE t (id BIGINT);\nCREATE TRIGGER n BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION f()":                                                         false,
		"-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;\n-- +goose StatementEnd\n":                      true,
		"-- +goose StatementBegin\nCREATE TRIGGER n BEFORE UPDATE ON t BEGIN SELECT 1; END;\n-- +goose StatementEnd\nDROP TABLE t":                                       false,
	} {
		ok := true
		stmts := statements(stmt)
		created := map[string]bool{}
		for _, s := range stmts {
			if m := createTable.FindStringSubmatch(s); m != nil {
				created[strings.ToLower(m[1])] = true
			}
		}
		for _, s := range stmts {
			ok = ok && (matchesAny(s) || newTableTrigger(s, created))
		}
		if ok != want {
			t.Errorf("%q: expanding = %v, want %v", stmt, ok, want)
		}
	}
}

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
	if len(parts) < 29 {
		t.Fatalf("golden file holds %d migrations, want at least 29", len(parts))
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
