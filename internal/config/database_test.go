package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatabaseValidate(t *testing.T) {
	const secret = "s3cret-pw"
	for _, tc := range []struct {
		name string
		db   Database
		want string // "" for valid
	}{
		{"sqlite", Database{Driver: "sqlite"}, ""},
		{"sqlite with url", Database{Driver: "sqlite", URL: "postgres://h/db"}, "are for driver \"postgres\""},
		{"postgres url", Database{Driver: "postgres", URL: "postgres://trove@db.internal:5432/trove?sslmode=verify-full"}, ""},
		{"postgres url_file", Database{Driver: "postgres", URLFile: "/run/secrets/db"}, ""},
		{"postgres kv", Database{Driver: "postgres", URL: "host=db user=trove dbname=trove"}, ""},
		{"postgres nothing", Database{Driver: "postgres"}, "needs database.url_file"},
		{"postgres both", Database{Driver: "postgres", URL: "postgres://h/db", URLFile: "/f"}, "give only one"},
		{"password in url", Database{Driver: "postgres", URL: "postgres://trove:" + secret + "@h/db"}, "holds a password"},
		{"password parameter", Database{Driver: "postgres", URL: "postgres://trove@h/db?password=" + secret}, "holds a password"},
		{"password kv", Database{Driver: "postgres", URL: "host=h password=" + secret}, "holds a password"},
		{"pool", Database{Driver: "postgres", URL: "postgres://h/db", MaxOpenConns: 5, MaxIdleConns: 6}, "max_idle_conns (6) is above"},
		{"negative", Database{Driver: "postgres", URL: "postgres://h/db", MaxOpenConns: -1}, "must not be negative"},
		{"driver", Database{Driver: "mysql"}, "supported: sqlite, postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []string
			for _, err := range tc.db.validate() {
				msgs = append(msgs, err.Error())
			}
			got := strings.Join(msgs, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("validate() = %s, want no error", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("validate() = %q, want %q", got, tc.want)
			case strings.Contains(got, secret):
				t.Errorf("validate() shows the password: %s", got)
			}
		})
	}
}

func TestDatabaseConnString(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "db-url")
	if err := os.WriteFile(f, []byte("postgres://trove:pw@h:5432/trove\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", []string{"TROVE_DATABASE_DRIVER=postgres", "TROVE_DATABASE_URL_FILE=" + f, "TROVE_DATABASE_MAX_OPEN_CONNS=7"})
	if err != nil {
		t.Fatal(err)
	}
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Database.ConnString(); err != nil || s != "postgres://trove:pw@h:5432/trove" || c.Database.MaxOpenConns != 7 {
		t.Errorf("ConnString() = %q, %v (max_open_conns %d)", s, err, c.Database.MaxOpenConns)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, name := range []string{empty, filepath.Join(dir, "missing")} {
		d := Database{Driver: "postgres", URLFile: name}
		if _, err := d.ConnString(); err == nil || !strings.Contains(err.Error(), "database.url_file") {
			t.Errorf("ConnString(%s) = %v, want an error naming database.url_file", name, err)
		}
	}
}
