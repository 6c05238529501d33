// Package audit keeps Trove's audit log: one entry for every mutating
// request (any method but GET, HEAD and OPTIONS) of every adapter, the
// API and the web interface, saying who (the account and its name at the
// time), with what credential, from where, did what (the route's name),
// to what, and how it ended. It is written by the dispatchers alone (the
// server for adapter mounts, the web interface's route table for pages),
// so that a route added later is recorded without its own help.
//
// # Invariants
//
//   - Entries are only appended: no code updates or deletes one, and
//     triggers on both engines refuse it (internal/meta).
//   - Secrets never enter an entry: no request body, header or query is
//     read; a credential is named by its public id ("token 1a2b…"), never
//     its secret; a target from the path has anything shaped like a
//     token redacted (access.Redact) and every field is bounded.
//   - An entry is written after its response, in its own transaction: a
//     change that committed is recorded unless the process dies between
//     the two (public changes are in the transparency log as well).
//
// # Anonymous requests
//
// A request without a signed-in account (no credentials, or credentials
// that did not authenticate) is not written on its own: anyone can send
// those, as fast as the rate limits allow, and they must not become one
// database write each. They are counted in memory by action, outcome and
// status, and each count is written as one entry (count > 1, detail "N
// requests from M clients") at most once per [AggregateWindow], and when
// the server stops (Flush).
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// An Outcome is how a request ended, from its status.
type Outcome string

// The outcomes.
const (
	OK              Outcome = "ok"              // 1xx, 2xx, 3xx
	Unauthenticated Outcome = "unauthenticated" // 401
	Denied          Outcome = "denied"          // 403, 429
	Invalid         Outcome = "invalid"         // any other 4xx (404 included)
	Error           Outcome = "error"           // 5xx
)

// Outcomes lists every outcome, for filters.
var Outcomes = []Outcome{OK, Denied, Unauthenticated, Invalid, Error}

// OutcomeOf returns the outcome of a response with the status.
func OutcomeOf(status int) Outcome {
	switch {
	case status < 400:
		return OK
	case status == http.StatusUnauthorized:
		return Unauthenticated
	case status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return Denied
	case status < 500:
		return Invalid
	}
	return Error
}

// Mutating reports whether a request with the method is recorded.
func Mutating(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// Field limits: what is longer is cut (with "…").
const (
	maxTarget = 512
	maxField  = 128
	maxDetail = 1100 // a reason of 1024 bytes and its label
)

// Credentials as entries name them (a token is "token " + its public id).
const (
	CredentialAnonymous = "anonymous"
	CredentialSession   = "web session"
	// CredentialPassword: a web session that proved the password and
	// owes a second factor, or a request that checked a password itself.
	CredentialPassword = "password"
)

// TokenCredential names an API token by its public id.
func TokenCredential(publicID string) string { return "token " + publicID }

// MintedCredential names a token a trusted publisher minted: "token ID
// (trusted publisher N)", so that a CI job's uploads read as such.
func MintedCredential(publicID string, publisher int64) string {
	return fmt.Sprintf("token %s (trusted publisher %d)", publicID, publisher)
}

// An Entry is one request to record.
type Entry struct {
	UserID     int64 // 0: no signed-in account: counted, not written alone
	UserName   string
	Credential string
	Client     string // the client's address
	Action     string // the route's name: "npm.publish"
	// Path is the request's path, the target when the registry named
	// none (see Note); it is redacted here.
	Path      string
	Status    int
	RequestID string
}

// AggregateWindow is how long anonymous requests are counted before the
// counts are written.
const AggregateWindow = time.Minute

// maxAggregates bounds the distinct counts kept between writes; more
// kinds of anonymous request in one window are counted under "other".
const maxAggregates = 256

// A Log records entries in the database.
type Log struct {
	db  *meta.DB
	now func() time.Time

	mu      sync.Mutex
	pending map[aggKey]*aggregate
	since   time.Time // when the first pending count began
}

type aggKey struct {
	action string
	status int
}

type aggregate struct {
	n       int
	clients map[string]bool // distinct clients, up to maxField of them
}

// New returns a Log writing to db; now may be nil for time.Now.
func New(db *meta.DB, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now, pending: map[aggKey]*aggregate{}}
}

// Record records the request e describes, with the target the registry
// noted in ctx (see WithNote), if any. It never fails the request: an
// error writing is logged. A nil Log records nothing.
func (l *Log) Record(ctx context.Context, e Entry) {
	if l == nil {
		return
	}
	now := l.now()
	if e.UserID == 0 {
		l.count(ctx, e, now)
		return
	}
	row := &meta.AuditEntry{At: now, UserID: e.UserID, UserName: cut(e.UserName, maxField), Credential: cut(e.Credential, maxField),
		Client: cut(e.Client, maxField), Action: cut(e.Action, maxField), Target: cut(redactPath(e.Path), maxTarget),
		Outcome: string(OutcomeOf(e.Status)), Status: e.Status, Count: 1, RequestID: cut(e.RequestID, maxField),
		Detail: cut(access.Redact(detailOf(ctx)), maxDetail)}
	if t, ok := noteOf(ctx); ok {
		row.Ecosystem, row.Package, row.Target = cut(string(t.Ecosystem), maxField), cut(t.Name, maxTarget), cut(TargetString(t), maxTarget)
	}
	// The request's own context may be cancelled by now (the client
	// went away); the entry is still written.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := l.db.Tx(wctx, func(tx *meta.Tx) error { return tx.InsertAuditEntry(wctx, row) }); err != nil {
		slog.Error("writing the audit log", "request_id", e.RequestID, "action", e.Action, "err", err)
	}
	l.flushIfDue(ctx, now)
}

// count adds an anonymous request to the pending counts.
func (l *Log) count(ctx context.Context, e Entry, now time.Time) {
	l.mu.Lock()
	k := aggKey{action: cut(e.Action, maxField), status: e.Status}
	a := l.pending[k]
	if a == nil {
		if len(l.pending) >= maxAggregates {
			k.action = "other"
			a = l.pending[k]
		}
		if a == nil {
			a = &aggregate{clients: map[string]bool{}}
			l.pending[k] = a
		}
	}
	if len(l.pending) == 1 && a.n == 0 {
		l.since = now
	}
	a.n++
	if len(a.clients) < maxField {
		a.clients[cut(e.Client, maxField)] = true
	}
	l.mu.Unlock()
	l.flushIfDue(ctx, now)
}

func (l *Log) flushIfDue(ctx context.Context, now time.Time) {
	l.mu.Lock()
	due := len(l.pending) > 0 && now.Sub(l.since) >= AggregateWindow
	l.mu.Unlock()
	if due {
		if err := l.Flush(ctx); err != nil {
			slog.Error("writing the audit log's anonymous counts", "err", err)
		}
	}
}

// Flush writes the pending counts of anonymous requests, one entry each.
// The server calls it when it stops.
func (l *Log) Flush(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	pending := l.pending
	l.pending = map[aggKey]*aggregate{}
	l.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	now := l.now()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return l.db.Tx(wctx, func(tx *meta.Tx) error {
		for k, a := range pending {
			clients := fmt.Sprint(len(a.clients))
			if len(a.clients) >= maxField {
				clients = "at least " + clients
			}
			row := &meta.AuditEntry{At: now, Credential: CredentialAnonymous, Action: k.action, Outcome: string(OutcomeOf(k.status)),
				Status: k.status, Count: a.n, Detail: fmt.Sprintf("%d requests from %s clients", a.n, clients)}
			if err := tx.InsertAuditEntry(wctx, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// TargetString writes a registry target as entries show it:
// "npm:demo@1.0.0", or "npm:demo" for a whole package.
func TargetString(t trove.Target) string {
	s := string(t.Ecosystem) + ":" + t.Name
	if t.Version != "" {
		s += "@" + t.Version
	}
	return s
}

// cut bounds s to n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = strings.ToValidUTF8(s[:n-len("…")], "")
	return s + "…"
}
