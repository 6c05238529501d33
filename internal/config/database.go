package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// validate reports the problems of the database settings.
func (d *Database) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch d.Driver {
	case "sqlite":
		if d.URL != "" || d.URLFile != "" {
			bad("database.url and database.url_file are for driver \"postgres\"; driver \"sqlite\" uses database.path")
		}
	case "postgres":
		switch {
		case d.URL == "" && d.URLFile == "":
			bad("database: driver \"postgres\" needs database.url_file (a file holding postgres://user:password@host:5432/trove?sslmode=verify-full) or database.url (without a password)")
		case d.URL != "" && d.URLFile != "":
			bad("database.url and database.url_file are both set: give only one")
		case d.URL != "" && hasPassword(d.URL):
			bad("database.url holds a password, which must not be in the configuration: put the connection string in a file readable only by Trove and name it with database.url_file, or give the password through PGPASSFILE")
		}
	default:
		bad("database.driver: %q is not supported (supported: sqlite, postgres)", d.Driver)
	}
	if d.MaxOpenConns < 0 || d.MaxIdleConns < 0 {
		bad("database.max_open_conns and database.max_idle_conns must not be negative")
	}
	if d.MaxOpenConns > 0 && d.MaxIdleConns > d.MaxOpenConns {
		bad("database.max_idle_conns (%d) is above database.max_open_conns (%d)", d.MaxIdleConns, d.MaxOpenConns)
	}
	if d.ConnMaxLifetime < 0 {
		bad("database.conn_max_lifetime must not be negative")
	}
	return errs
}

// kvPassword finds a password in a key=value connection string.
var kvPassword = regexp.MustCompile(`(^|\s)password\s*=`)

// hasPassword reports whether a connection string holds a password, in
// its user information or as a parameter.
func hasPassword(conn string) bool {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return true // unreadable: assume the worst
		}
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	return kvPassword.MatchString(conn)
}

// ConnString returns the PostgreSQL connection string: database.url, or
// the contents of database.url_file, trimmed. Errors never show it.
func (d *Database) ConnString() (string, error) {
	if d.URLFile == "" {
		return d.URL, nil
	}
	b, err := os.ReadFile(d.URLFile)
	if err != nil {
		return "", fmt.Errorf("database.url_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("database.url_file: " + d.URLFile + " is empty; it should hold postgres://user:password@host:5432/trove?sslmode=verify-full")
	}
	return s, nil
}
