package goproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/trove"
)

// MaxSumDBBytes bounds one answer of an upstream checksum database
// (a lookup, a signed tree or a tile: a full hash tile is 8 KiB, a data
// tile a few hundred records).
const MaxSumDBBytes = 1 << 20

// A SumState keeps, durably, what Trove has verified of upstream checksum
// databases: the latest signed tree of each (so that a database that
// rolls back or forks its log is caught, across restarts too) and the
// lookups and tiles already fetched. *meta.DB implements it. Keys are
// sumdb.ClientOps file names ("<db>/latest", "<db>/tile/8/0/000") or,
// for the relay of the go command's sumdb-proxy requests, "relay/<db>/…".
type SumState interface {
	// SumState returns the value stored under key, or nil and no error
	// when there is none.
	SumState(ctx context.Context, key string) ([]byte, error)
	// SwapSumState replaces the value under key, old (nil: none), by
	// new, atomically: it reports false, changing nothing, when the
	// stored value is not old.
	SwapSumState(ctx context.Context, key string, old, new []byte) (bool, error)
	// PutSumState stores data under key, replacing any value: cache
	// entries, which are immutable or re-verified when read.
	PutSumState(ctx context.Context, key string, data []byte) error
}

// An upstreamDB is an upstream checksum database: where to reach it, the
// key its signed trees must verify with, and the durable state of
// Trove's verifying client (x/mod's sumdb.Client).
type upstreamDB struct {
	name   string // the database's name, from its key
	key    string // verifier key "<name>+<hash>+<key>"
	url    string // its root, without a trailing slash
	source string // the upstream source it verifies
	// token is the source's bearer credential, sent only to authHost,
	// the source's own host.
	token, authHost string
	http            *http.Client
	state           SumState
	// allow applies the per-client limit on upstream requests to the
	// relay's (upstream.Client.Allow); nil: no limit.
	allow func(context.Context) error

	latestMu sync.Mutex // guards the relay's signed tree
	latest   []byte
	latestAt time.Time
}

// newUpstreamDB returns the database of key at dbURL, which verifies the
// modules of the source at srcURL.
func newUpstreamDB(key, dbURL, source, srcURL, token string, hc *http.Client, state SumState) (*upstreamDB, error) {
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("the checksum database key of upstream %s (%q) is not a verifier key <name>+<hash>+<key>: %v", source, key, err)
	}
	return &upstreamDB{name: v.Name(), key: key, url: strings.TrimSuffix(dbURL, "/"), source: source,
		token: token, authHost: hostOf(srcURL), http: hc, state: state}, nil
}

// A VerifyError reports an upstream module version that its checksum
// database does not vouch for: its files hash to other go.sum lines than
// the database holds, the database has no record of it, or the database
// misbehaved (a fork or a rollback of its log). Trove refuses the version
// and stores nothing; it is gone as far as clients are concerned (410,
// which the go command shows with this message).
type VerifyError struct {
	Module, Version string
	Source          string // the upstream's name
	DB              string // the checksum database's name
	Reason          string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("SECURITY ERROR: %s@%s from upstream %s does not verify against the checksum database %s: %s; Trove refused it and stored nothing",
		e.Module, e.Version, e.Source, e.DB, e.Reason)
}

// Unwrap returns trove.ErrGone: the version is not served.
func (e *VerifyError) Unwrap() error { return trove.ErrGone }

// verify checks a module version's go.sum lines (the zip's and the
// go.mod's, as Trove computed them from the fetched files) against the
// upstream database through a new sumdb.Client: a new one each time,
// because a Client remembers failures (a timeout, too) for its lifetime;
// the durable state carries the verified tree and tiles between them.
func (d *upstreamDB) verify(ctx context.Context, m module.Version, lines []string) error {
	ops := &sumOps{ctx: ctx, db: d}
	c := sumdb.NewClient(ops)
	for _, want := range lines {
		f := strings.Fields(want)
		if len(f) != 3 {
			return fmt.Errorf("verifying %s: malformed go.sum line %q", m, want)
		}
		got, err := c.Lookup(m.Path, f[1])
		if err != nil {
			return d.lookupError(m, ops, err)
		}
		if err := d.match(m, want, got); err != nil {
			return err
		}
	}
	return nil
}

// match compares the line Trove computed with those the database holds.
func (d *upstreamDB) match(m module.Version, want string, got []string) error {
	for _, g := range got {
		if g == want {
			return nil
		}
	}
	f := strings.Fields(want)
	what := "the module zip"
	if strings.HasSuffix(f[1], "/go.mod") {
		what = "the go.mod file"
	}
	reason := fmt.Sprintf("%s hashes to %s, but the database has no line for it", what, f[2])
	if len(got) > 0 {
		reason = fmt.Sprintf("%s hashes to %s, but the database holds %q: the upstream served other bytes than were first published", what, f[2], got)
	}
	return &VerifyError{Module: m.Path, Version: m.Version, Source: d.source, DB: d.name, Reason: reason}
}

// lookupError turns a failed lookup into a VerifyError when the database
// does not vouch for the version, and into an unavailable upstream when
// it could not be asked. (The Client formats the errors of its ops with
// %v, so what happened is read from the ops.)
func (d *upstreamDB) lookupError(m module.Version, ops *sumOps, err error) error {
	security, missing, remote := ops.outcome()
	refuse := func(reason string) error {
		return &VerifyError{Module: m.Path, Version: m.Version, Source: d.source, DB: d.name, Reason: reason}
	}
	switch {
	case security != "" || errors.Is(err, sumdb.ErrSecurity):
		return refuse("the database misbehaved (its log forked or rolled back since Trove last checked it):\n" + security)
	case missing:
		return refuse("the database has no record of this version")
	case remote != nil:
		return trove.Error(trove.ErrUpstream, "verifying %s from upstream %s: the checksum database %s cannot be reached: %v", m, d.source, d.name, remote)
	}
	return refuse(err.Error())
}

// errNoRecord is the database's 404 or 410 for a lookup.
var errNoRecord = errors.New("no such record")

// get fetches path below the database's root, at most MaxSumDBBytes.
func (d *upstreamDB) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		return nil, err
	}
	if d.token != "" && strings.EqualFold(req.URL.Host, d.authHost) {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s%s: %s: %w", d.name, path, resp.Status, errNoRecord)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s%s: %s", d.name, path, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSumDBBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", d.name, path, err)
	}
	if len(b) > MaxSumDBBytes {
		return nil, fmt.Errorf("%s%s: the answer is larger than %d bytes", d.name, path, MaxSumDBBytes)
	}
	return b, nil
}

// hostOf returns the host[:port] of a URL, "" if it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// sumOps are the sumdb.ClientOps of one verification: the database over
// HTTP and Trove's durable state. SecurityError records the message (the
// Client then fails with sumdb.ErrSecurity) instead of ending the program.
type sumOps struct {
	ctx context.Context
	db  *upstreamDB

	mu       sync.Mutex
	security []string
	missing  bool
	remote   error
}

func (o *sumOps) ReadRemote(path string) ([]byte, error) {
	b, err := o.db.get(o.ctx, path)
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case errors.Is(err, errNoRecord) && strings.HasPrefix(path, "/lookup/"):
		o.missing = true
	case err != nil:
		o.remote = err
	}
	return b, err
}

// outcome returns what went wrong: security messages, a lookup the
// database answered 404 or 410, the last other failure to reach it.
func (o *sumOps) outcome() (security string, missing bool, remote error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.security, "\n"), o.missing, o.remote
}

// ReadConfig returns the key, and the latest tree Trove verified (empty
// before the first lookup: the Client then starts from the empty tree).
func (o *sumOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.db.key), nil
	}
	b, err := o.db.state.SumState(o.ctx, file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return b, nil
}

func (o *sumOps) WriteConfig(file string, old, new []byte) error {
	if file == "key" {
		return fmt.Errorf("the key of %s is configuration, not state", o.db.name)
	}
	if len(old) == 0 {
		old = nil
	}
	ok, err := o.db.state.SwapSumState(o.ctx, file, old, new)
	switch {
	case err != nil:
		return fmt.Errorf("writing %s: %w", file, err)
	case !ok:
		return sumdb.ErrWriteConflict
	}
	return nil
}

func (o *sumOps) ReadCache(file string) ([]byte, error) {
	b, err := o.db.state.SumState(o.ctx, file)
	if err == nil && b == nil {
		err = errNoRecord
	}
	return b, err
}

// WriteCache keeps what the Client verified; a failure only costs a
// fetch later.
func (o *sumOps) WriteCache(file string, data []byte) {
	if err := o.db.state.PutSumState(o.ctx, file, data); err != nil {
		slog.Warn("caching a checksum database file", "file", file, "err", err)
	}
}

func (o *sumOps) Log(msg string) {
	slog.Info("upstream checksum database", "db", o.db.name, "msg", msg)
}

func (o *sumOps) SecurityError(msg string) {
	slog.Error("upstream checksum database misbehaved", "db", o.db.name, "source", o.db.source, "msg", msg)
	o.mu.Lock()
	o.security = append(o.security, msg)
	o.mu.Unlock()
}
