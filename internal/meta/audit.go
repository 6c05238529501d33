package meta

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// An AuditEntry is a row of the audit log (internal/audit says what each
// field holds). Rows are only ever inserted: triggers refuse an UPDATE or
// DELETE on either engine.
type AuditEntry struct {
	ID         int64
	At         time.Time
	UserID     int64 // 0: nobody signed in
	UserName   string
	Credential string
	Client     string
	Action     string
	Target     string
	Ecosystem  string
	Package    string
	Outcome    string
	Status     int
	Count      int
	Detail     string
	RequestID  string
}

// InsertAuditEntry appends e to the audit log and sets e.ID.
func (tx *Tx) InsertAuditEntry(ctx context.Context, e *AuditEntry) error {
	var user any
	if e.UserID != 0 {
		user = e.UserID
	}
	id, err := tx.insert(ctx, `INSERT INTO audit_log (at, user_id, user_name, credential, client, action, target, ecosystem, package,
		outcome, status, count, detail, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At.UnixMicro(), user, e.UserName, e.Credential, e.Client, e.Action, e.Target, e.Ecosystem, e.Package,
		e.Outcome, e.Status, e.Count, e.Detail, e.RequestID)
	e.ID = id
	return err
}

// An AuditFilter selects audit entries; its zero value selects every one.
// A filter by the owners of a package (an organisation's owners reading
// their organisation's entries) is a condition on ecosystem and package
// like Package's.
type AuditFilter struct {
	UserID    int64  // 0: every actor
	Ecosystem string // with Package: entries on that package
	Package   string
	Action    string // exact, or a prefix ending in "." ("npm.")
	Outcome   string
	Since     time.Time // zero: no bound
	Until     time.Time // zero: no bound (exclusive)
	Before    int64     // entries with a smaller id (0: from the newest)
	// Scope, when set, keeps the entries about its packages or under its
	// target prefix: an organisation's, for its owners.
	Scope *AuditScope
}

// An AuditScope is what an organisation's owners read of the audit log:
// the entries on its packages (names folded as the log keeps them), and
// those whose target starts with TargetPrefix (the organisation's own
// routes, "/api/v1/orgs/acme"; followed by "/" or nothing).
type AuditScope struct {
	Packages     []trove.Target // Ecosystem and Name
	TargetPrefix string
}

// MaxAuditScopePackages bounds the packages of one AuditScope (one query
// parameter pair each).
const MaxAuditScopePackages = 2000

// AuditEntries returns up to limit entries that pass f, newest first.
func (q q) AuditEntries(ctx context.Context, f AuditFilter, limit int) ([]*AuditEntry, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.UserID != 0 {
		add("user_id = ?", f.UserID)
	}
	if f.Package != "" {
		add("ecosystem = ?", f.Ecosystem)
		add("package = ?", f.Package)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		add("substr(action, 1, ?) = ?", len(f.Action))
		args = append(args, f.Action)
	case f.Action != "":
		add("action = ?", f.Action)
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UnixMicro())
	}
	if f.Before != 0 {
		add("id < ?", f.Before)
	}
	if sc := f.Scope; sc != nil {
		if len(sc.Packages) > MaxAuditScopePackages {
			return nil, fmt.Errorf("an audit scope of %d packages (at most %d)", len(sc.Packages), MaxAuditScopePackages)
		}
		var or []string
		for _, p := range sc.Packages {
			or = append(or, "(ecosystem = ? AND package = ?)")
			args = append(args, string(p.Ecosystem), string(p.Name))
		}
		if sc.TargetPrefix != "" {
			or = append(or, "target = ?", "substr(target, 1, ?) = ?")
			args = append(args, sc.TargetPrefix, len(sc.TargetPrefix)+1, sc.TargetPrefix+"/")
		}
		if len(or) == 0 {
			or = append(or, "1 = 0")
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	rows, err := q.query(ctx, `SELECT id, at, user_id, user_name, credential, client, action, target, ecosystem, package,
		outcome, status, count, detail, request_id FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*AuditEntry, error) {
		var e AuditEntry
		var at int64
		var user sql.NullInt64
		err := s.Scan(&e.ID, &at, &user, &e.UserName, &e.Credential, &e.Client, &e.Action, &e.Target, &e.Ecosystem, &e.Package,
			&e.Outcome, &e.Status, &e.Count, &e.Detail, &e.RequestID)
		e.At, e.UserID = time.UnixMicro(at).UTC(), user.Int64
		return &e, err
	})
}
