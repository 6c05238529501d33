package meta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Dumps
//
// A table dump is engine-neutral text: JSON lines, the first naming the
// table and its columns, each following one row as a JSON array of its
// values in that column order:
//
//	{"table":"users","columns":["id","name","email",…]}
//	[1,"alice","alice@example.test",…]
//
// A value is null (SQL NULL), a number (an integer column: BIGINT or
// INTEGER, always a whole int64), a string (TEXT, valid UTF-8), or
// {"base64":"…"} for text that is not valid UTF-8 (JSON strings cannot
// carry it unchanged). Rows come in primary key order, so the same
// database always dumps to the same bytes. A dump made on one engine loads
// into the other: nothing in it is engine-specific.
//
// A load maps columns by name. A column the dump lacks takes its default
// (a dump made before a migration added it); a column the target lacks
// is an error (a dump made by a newer Trove). Tables load in [DumpTables]
// order, which follows the foreign keys.

// A dumpTable is a table a dump holds and the columns that order it.
type dumpTable struct {
	name  string
	order string
	// serial is true for tables whose id column is assigned by the
	// database; a load carries its high-water mark over.
	serial bool
}

// dumpTables lists every table of the schema except the migrations' own,
// parents before children. TestDumpTablesCoverSchema keeps it complete.
var dumpTables = []dumpTable{
	{name: "users", order: "id", serial: true},
	{name: "orgs", order: "id", serial: true},
	{name: "org_members", order: "org_id, user_id"},
	{name: "org_invitations", order: "org_id, user_id"},
	{name: "teams", order: "id", serial: true},
	{name: "team_members", order: "team_id, user_id"},
	{name: "tokens", order: "id", serial: true},
	{name: "packages", order: "id", serial: true},
	{name: "owners", order: "package_id, user_id"},
	{name: "team_grants", order: "team_id, package_id"},
	{name: "releases", order: "id", serial: true},
	{name: "files", order: "id", serial: true},
	{name: "held_releases", order: "release_id"},
	{name: "quarantined_releases", order: "release_id"},
	{name: "scan_results", order: "id", serial: true},
	{name: "dist_tags", order: "package_id, tag"},
	{name: "dependencies", order: "release_id, ecosystem, name, constraint_text"},
	{name: "changes", order: "id", serial: true},
	{name: "login_sessions", order: "id", serial: true},
	{name: "web_sessions", order: "id", serial: true},
	{name: "log_records", order: "id"},
	{name: "log_hashes", order: "idx"},
	{name: "log_index", order: "record_id, ecosystem, name, version, kind"},
	{name: "signin_unlocks", order: "name"},
	{name: "upstream_exceptions", order: "ecosystem, name"},
	{name: "curation_policies", order: "ecosystem, pattern"},
	{name: "curation_marks", order: "id", serial: true},
	{name: "curators", order: "user_id"},
	{name: "upstream_sumdb", order: "name"},
	{name: "package_policies", order: "package_id"},
	{name: "package_downloads", order: "package_id, day"},
	{name: "factors", order: "id", serial: true},
	{name: "recovery_codes", order: "user_id, hash"},
	{name: "factor_key", order: "id"},
	{name: "email_verifications", order: "user_id"},
	{name: "outbox", order: "id", serial: true},
	{name: "security_events", order: "id", serial: true},
	{name: "audit_log", order: "id", serial: true},
	{name: "known_devices", order: "user_id, device"},
	{name: "mail_tokens", order: "hash"},
	{name: "notify_cursors", order: "name"},
	{name: "review_reminders", order: "user_id, subject"},
	{name: "email_domains", order: "domain"},
	{name: "trusted_publishers", order: "id", serial: true},
	{name: "malware_records", order: "id"},
	{name: "malware_versions", order: "record_id, ecosystem, name, spec"},
	{name: "malware_patterns", order: "kind, value, record_id"},
	{name: "reports", order: "id", serial: true},
	{name: "advisories", order: "id", serial: true},
}

// ephemeralTables are the tables a dump leaves out: the replicas' job
// leases, shared rate limits, sign-in budgets and WebAuthn ceremonies under way describe the
// moment, not the registry, and a restored server starts them afresh; upstream_docs is a cache
// of other registries' documents; password_resets are single-use links that live an hour: a
// restored server honours none mailed before; npm_otp_challenges (npm's web one-time
// passwords) live five minutes and are single-use too; oidc_jtis (ID tokens already exchanged
// for trusted publishing) outlive no ID token by more than hours.
var ephemeralTables = []string{"jobs", "rate_limits", "signin_budgets", "upstream_docs", "webauthn_ceremonies", "password_resets", "npm_otp_challenges", "oidc_jtis"}

// MaxDumpRowBytes bounds one row of a dump, as encoded; a longer line is
// refused rather than buffered.
const MaxDumpRowBytes = 64 << 20

// DumpTables returns the names of the tables a dump holds, in the order
// they must be loaded.
func DumpTables() []string {
	out := make([]string, len(dumpTables))
	for i, t := range dumpTables {
		out[i] = t.name
	}
	return out
}

func lookupTable(name string) (dumpTable, error) {
	for _, t := range dumpTables {
		if t.name == name {
			return t, nil
		}
	}
	return dumpTable{}, fmt.Errorf("table %q is not part of a dump", name)
}

// A dumpHeader is the first line of a table dump.
type dumpHeader struct {
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
}

// DumpTable writes the table's rows to w in the dump format and returns
// how many it wrote. Run it in a Snapshot so that all tables agree.
func (s *Snapshot) DumpTable(ctx context.Context, table string, w io.Writer) (int64, error) {
	t, err := lookupTable(table)
	if err != nil {
		return 0, err
	}
	rows, err := s.query(ctx, `SELECT * FROM `+t.name+` ORDER BY `+t.order)
	if err != nil {
		return 0, fmt.Errorf("dumping %s: %w", t.name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("dumping %s: %w", t.name, err)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dumpHeader{Table: t.name, Columns: cols}); err != nil {
		return 0, err
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("dumping %s: %w", t.name, err)
		}
		row, err := encodeRow(vals, cols)
		if err != nil {
			return n, fmt.Errorf("dumping %s row %d: %w", t.name, n+1, err)
		}
		if err := enc.Encode(row); err != nil {
			return n, fmt.Errorf("dumping %s: %w", t.name, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("dumping %s: %w", t.name, err)
	}
	return n, bw.Flush()
}

// binary is how a dump carries text that is not valid UTF-8.
type binary struct {
	Base64 string `json:"base64"`
}

// encodeRow turns scanned values into their dump form.
func encodeRow(vals []any, cols []string) ([]any, error) {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil, int64:
			out[i] = v
		case int32:
			out[i] = int64(v)
		case string:
			out[i] = textValue([]byte(v))
		case []byte:
			out[i] = textValue(v)
		default:
			return nil, fmt.Errorf("column %s: values of type %T cannot be dumped", cols[i], v)
		}
	}
	return out, nil
}

func textValue(b []byte) any {
	if utf8.Valid(b) {
		return string(b)
	}
	return binary{Base64: base64.StdEncoding.EncodeToString(b)}
}

// CountRows returns the number of rows in a dumped table.
func (q q) CountRows(ctx context.Context, table string) (int64, error) {
	t, err := lookupTable(table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = q.row(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&n)
	return n, q.err(err)
}

// columns returns the columns the table has in this database.
func (q q) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := q.query(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// LoadTable reads a table dump from r and inserts its rows, returning how
// many it inserted. The dump must be of the named table. Load tables in
// DumpTables order into an empty database, in one transaction.
func (tx *Tx) LoadTable(ctx context.Context, table string, r io.Reader) (int64, error) {
	t, err := lookupTable(table)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxDumpRowBytes)
	h, err := readHeader(sc, t.name)
	if err != nil {
		return 0, err
	}
	if err := tx.checkColumns(ctx, t.name, h.Columns); err != nil {
		return 0, err
	}
	stmt, err := tx.tx.PrepareContext(ctx, tx.rebind(`INSERT INTO `+t.name+` (`+strings.Join(h.Columns, ", ")+
		`) VALUES (?`+strings.Repeat(", ?", len(h.Columns)-1)+`)`))
	if err != nil {
		return 0, fmt.Errorf("loading %s: %w", t.name, err)
	}
	defer stmt.Close()
	var n int64
	for sc.Scan() {
		args, err := decodeRow(sc.Bytes(), len(h.Columns))
		if err != nil {
			return n, fmt.Errorf("loading %s row %d: %w", t.name, n+1, err)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return n, fmt.Errorf("loading %s row %d: %w", t.name, n+1, tx.err(err))
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("loading %s after row %d: %w", t.name, n, err)
	}
	if t.serial {
		if err := tx.advanceSerial(ctx, t.name); err != nil {
			return n, fmt.Errorf("loading %s: %w", t.name, err)
		}
	}
	return n, nil
}

func readHeader(sc *bufio.Scanner, table string) (dumpHeader, error) {
	var h dumpHeader
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, fmt.Errorf("loading %s: %w", table, err)
		}
		return h, fmt.Errorf("loading %s: the dump is empty (want a header line)", table)
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, fmt.Errorf("loading %s: header: %w", table, err)
	}
	if h.Table != table {
		return h, fmt.Errorf("loading %s: the dump is of table %q", table, h.Table)
	}
	if len(h.Columns) == 0 {
		return h, fmt.Errorf("loading %s: the dump names no columns", table)
	}
	return h, nil
}

// checkColumns checks that every dumped column exists in the target, once.
func (tx *Tx) checkColumns(ctx context.Context, table string, cols []string) error {
	have, err := tx.columns(ctx, table)
	if err != nil {
		return fmt.Errorf("loading %s: %w", table, err)
	}
	known := make(map[string]bool, len(have))
	for _, c := range have {
		known[c] = true
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if seen[c] {
			return fmt.Errorf("loading %s: column %q appears twice in the dump", table, c)
		}
		seen[c] = true
		if !known[c] {
			return fmt.Errorf("loading %s: the dump has a column %q this database's schema lacks (was the dump made by a newer trove?)", table, c)
		}
	}
	return nil
}

// decodeRow parses one dumped row into query arguments.
func decodeRow(line []byte, ncols int) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("want a JSON array of values: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the row")
	}
	if len(raw) != ncols {
		return nil, fmt.Errorf("%d values for %d columns", len(raw), ncols)
	}
	for i, v := range raw {
		switch v := v.(type) {
		case nil, string:
		case json.Number:
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("value %d: %s is not a 64-bit integer", i+1, v)
			}
			raw[i] = n
		case map[string]any:
			b64, ok := v["base64"].(string)
			if len(v) != 1 || !ok {
				return nil, fmt.Errorf("value %d: want {\"base64\": \"…\"}", i+1)
			}
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, fmt.Errorf("value %d: %w", i+1, err)
			}
			raw[i] = string(b)
		default:
			return nil, fmt.Errorf("value %d: a %T is not a dump value", i+1, v)
		}
	}
	return raw, nil
}

// advanceSerial makes the table's id sequence continue after the highest
// id loaded, so that new rows never take a restored row's id.
func (tx *Tx) advanceSerial(ctx context.Context, table string) error {
	switch tx.d.name {
	case sqliteDialect.name:
		// AUTOINCREMENT keeps the high-water mark in sqlite_sequence, and
		// explicit ids inserted already raised it: nothing to do.
		return nil
	case postgresDialect.name:
		// The identity column's sequence does not see explicit ids: set it
		// past the highest (next value 1 for an empty table).
		_, err := tx.exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), GREATEST(COALESCE(MAX(id), 0), 1), MAX(id) IS NOT NULL) FROM `+table)
		return err
	}
	return fmt.Errorf("advancing the id sequence of %s on %s is not implemented", table, tx.d.name)
}

// SchemaVersion returns the version of the newest migration applied.
func (q q) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := q.row(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, q.err(err)
}

// LatestSchema returns the version of the newest migration this build
// holds: the schema its databases are migrated to.
func LatestSchema() int64 {
	known, err := knownMigrations()
	if err != nil {
		panic(err) // embedded files, or a bad -X at link time: caught by every test
	}
	var v int64
	for _, m := range known {
		v = max(v, m.Version)
	}
	return v
}

// A BlobRef is one file's reference to a blob: its content, or the
// metadata extracted from it (PyPI's core metadata).
type BlobRef struct {
	Digest    string
	Role      string // "content" or "metadata"
	Size      int64  // the content's size; -1 for metadata, whose size is not recorded
	FileID    int64
	Ecosystem string
	Package   string
	Filename  string
	State     string
}

// BlobRefs calls fn with every file's blob references, ordered by digest
// (then file and role), so that the references to one blob come together.
func (q q) BlobRefs(ctx context.Context, fn func(BlobRef) error) error {
	rows, err := q.query(ctx, `
		SELECT f.sha256, 'content', f.size, f.id, p.ecosystem, p.name, f.filename, f.state
			FROM files f JOIN packages p ON p.id = f.package_id
		UNION ALL
		SELECT f.metadata_sha256, 'metadata', -1, f.id, p.ecosystem, p.name, f.filename, f.state
			FROM files f JOIN packages p ON p.id = f.package_id WHERE f.metadata_sha256 <> ''
		ORDER BY 1, 4, 2`)
	if err != nil {
		return fmt.Errorf("listing blob references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r BlobRef
		if err := rows.Scan(&r.Digest, &r.Role, &r.Size, &r.FileID, &r.Ecosystem, &r.Package, &r.Filename, &r.State); err != nil {
			return fmt.Errorf("listing blob references: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
