// Package registry is Trove's ecosystem-agnostic core: packages, releases
// and files, the release state machine, and the invariants every ecosystem
// shares. Protocol adapters (npm, pypi, …) parse requests and artifacts and
// call this package; it calls storage (meta, blob) and the scan pipeline.
//
// # Release states
//
//	upload ──► quarantined ──scan: publish──► published ◄──unyank── yanked
//	               │   │                          │ └────yank──────►  │
//	               │   └─scan: reject──► (discarded: never visible)   │
//	               └─held for review                delete ─► deleted (tombstone)
//	                   (scan: hold, or the worm guard: burst.go; an
//	                    administrator releases it ─► published, or
//	                    rejects it ─► discarded: held.go)
//
// # Invariants
//
//   - (ecosystem, name, version key) and every (package, filename) are
//     taken forever once used: published, yanked and deleted releases keep
//     them. Only an upload that never became visible frees them again.
//   - A release or file is visible (to every read path) only in state
//     published or yanked, and only after its blobs were committed with
//     verified digests.
//   - Of concurrent publishes of one version exactly one succeeds: the
//     database's uniqueness constraint decides, not a check-then-act race.
//   - Every visible state change appends to the change feed in the same
//     transaction, and caches on every replica follow that feed.
package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Rules are what the core needs to know about an ecosystem. Each protocol
// adapter provides them; the server passes them to New.
type Rules interface {
	// Ecosystem returns the ecosystem the rules are for.
	Ecosystem() trove.Ecosystem
	// ParseName validates a package name as a client wrote it and returns
	// it normalized. Errors explain what is wrong.
	ParseName(s string) (trove.Name, error)
	// VersionKey validates a version and returns its canonical key: two
	// versions with one key are the same release (PEP 440: 1.0 == 1.0.0).
	VersionKey(v string) (string, error)
	// Skeleton returns the key under which look-alike names collide: a new
	// package whose skeleton equals an existing one's is refused. An empty
	// skeleton disables the check.
	Skeleton(n trove.Name) string
	// Fold returns the form in which token scopes compare a name, or a
	// literal part of a scope pattern (access.Namer): PyPI normalizes it,
	// Go lowers its case; names that fold alike are one package to scopes.
	Fold(name string) string
}

// Config is what a Service is made of.
type Config struct {
	DB      *meta.DB
	Blobs   blob.Store
	Scan    *scan.Pipeline // nil: no scanners
	Rules   []Rules
	TempDir string           // where uploads are spooled; "" for os.TempDir
	Now     func() time.Time // nil for time.Now
	// Log signs the transparency log after every change. Records are
	// appended with or without it; nil leaves them unsigned (tests).
	Log *translog.Log
	// UnpublishWindow is how long after publication owners may delete a
	// release; 0 means DefaultUnpublishWindow.
	UnpublishWindow time.Duration
	// Reserved keeps names for some users (see Namespace).
	Reserved []Reservation
	// Popular are the ecosystems' popular names, at most one list an
	// ecosystem: new names that look like them are refused to all but
	// administrators (see Popular). None: no such check.
	Popular []*Popular
	// PopularAllowed are the names (patterns, as in token scopes) the
	// check against popular names lets through.
	PopularAllowed []access.Pattern
	// PublishAuth is the level the MFA policy asks by default (see
	// mfa.go); AuthNone means DefaultPublishAuth. There is no "off": the
	// lowest level is AuthPassword.
	PublishAuth trove.AuthLevel
	// SecurityURL is the page where users add second factors, named in
	// refusals by the policy ("" for none).
	SecurityURL string
	// Burst is the worm guard's threshold (burst.go); the zero value
	// turns it off.
	Burst Burst
	// Held tells people that an upload is held for review (nil: the
	// hold is only logged).
	Held HoldNotice
	// InactiveAfter is the inactivity review's threshold (review.go); 0
	// marks nobody inactive.
	InactiveAfter time.Duration
	// APIPrefix is where Trove's API is mounted (DefaultAPIPrefix if ""):
	// the audit entries of an organisation's own routes are below it.
	APIPrefix string
}

// DefaultAPIPrefix is where trove serve mounts Trove's API.
const DefaultAPIPrefix = "/api"

// A Service is the registry core. It is safe for concurrent use.
type Service struct {
	db    *meta.DB
	blobs blob.Store
	scan  *scan.Pipeline
	// malicious marks upstream versions a scanner found malicious
	// (OnMalicious); guarded by mu.
	malicious func(ctx context.Context, eco trove.Ecosystem, name trove.Name, version, why string) error
	rules     map[trove.Ecosystem]Rules
	list      []Rules // the rules, in the order given
	tempDir   string
	now       func() time.Time
	log       *translog.Log

	unpublishWindow time.Duration
	reserved        []Reservation
	popular         map[trove.Ecosystem]*Popular
	popularAllowed  []access.Pattern
	upstreams       Upstreams
	publishAuth     trove.AuthLevel
	securityURL     string
	burst           Burst
	held            HoldNotice
	inactiveAfter   time.Duration
	apiPrefix       string
	downloads       downloads
	reportRates     *limit.Rates
	takedownNotice  TakedownNotice

	mu       sync.RWMutex
	watchers []func(trove.Ecosystem, trove.Name)
	// recorders apply records of kinds registered by other packages (Register).
	recorders map[string]Recorder
	files     map[fileKey]*trove.File // visible files by key, filled on demand
	locals    map[fileKey]localEntry  // Local's answers by (eco, name), filled on demand
	privates  map[fileKey]privEntry   // CanRead's private flags by (eco, name), filled on demand
	gen       uint64                  // incremented by every change; guards fills of files
}

type fileKey struct {
	eco      trove.Ecosystem
	name     trove.Name
	filename string
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Blobs == nil {
		return nil, errors.New("registry: DB and Blobs are required")
	}
	s := &Service{
		db:      cfg.DB,
		blobs:   cfg.Blobs,
		scan:    cfg.Scan,
		rules:   make(map[trove.Ecosystem]Rules),
		tempDir: cfg.TempDir,
		now:     cfg.Now,
		log:     cfg.Log,
		files:   make(map[fileKey]*trove.File),

		unpublishWindow: cfg.UnpublishWindow,
		reserved:        cfg.Reserved,
		popular:         make(map[trove.Ecosystem]*Popular),
		popularAllowed:  cfg.PopularAllowed,
		publishAuth:     cfg.PublishAuth,
		securityURL:     cfg.SecurityURL,
		burst:           cfg.Burst,
		held:            cfg.Held,
		inactiveAfter:   cfg.InactiveAfter,
		apiPrefix:       cmp.Or(cfg.APIPrefix, DefaultAPIPrefix),
		reportRates:     limit.NewRates(DefaultReportRate, cfg.Now),
	}
	if s.publishAuth == trove.AuthNone {
		s.publishAuth = DefaultPublishAuth
	}
	if s.unpublishWindow <= 0 {
		s.unpublishWindow = DefaultUnpublishWindow
	}
	if s.scan == nil {
		s.scan = scan.NewPipeline()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tempDir == "" {
		s.tempDir = os.TempDir()
	}
	if err := os.MkdirAll(s.tempDir, 0o750); err != nil {
		return nil, fmt.Errorf("registry: creating temp dir: %w", err)
	}
	removeStaleStages(s.tempDir, s.now().Add(-StaleQuarantine))
	for _, r := range cfg.Rules {
		s.rules[r.Ecosystem()] = r
		s.list = append(s.list, r)
	}
	for _, p := range cfg.Popular {
		if s.popular[p.Ecosystem()] != nil {
			return nil, fmt.Errorf("registry: two lists of popular %s names", p.Ecosystem())
		}
		s.popular[p.Ecosystem()] = p
	}
	if err := s.rekey(context.Background()); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return s, nil
}

// ParsePattern checks a token scope pattern against the ecosystems the
// service knows, folding its names by their rules (access.ParsePattern).
func (s *Service) ParsePattern(p string) (access.Pattern, error) {
	return access.ParsePattern(p, Namers(s.list...)...)
}

// Namers returns the rules as access.Namers.
func Namers(rules ...Rules) []access.Namer {
	out := make([]access.Namer, len(rules))
	for i, r := range rules {
		out[i] = r
	}
	return out
}

// Rules returns the rules of an ecosystem, or nil.
func (s *Service) Rules(eco trove.Ecosystem) Rules {
	return s.rules[eco]
}

// Watch registers fn to be called after every change to a package's
// visible state, whether made by this process or, through the change
// feed, by another replica. fn must not block.
func (s *Service) Watch(fn func(trove.Ecosystem, trove.Name)) {
	s.mu.Lock()
	s.watchers = append(s.watchers, fn)
	s.mu.Unlock()
}

// changed forgets cached state of the package and tells the watchers.
func (s *Service) changed(eco trove.Ecosystem, name trove.Name) {
	s.mu.Lock()
	s.gen++
	for k := range s.files {
		if k.eco == eco && k.name == name {
			delete(s.files, k)
		}
	}
	delete(s.privates, fileKey{eco: eco, name: name})
	// One package can make others local (its scope, its module tree).
	clear(s.locals)
	ws := s.watchers
	s.mu.Unlock()
	for _, w := range ws {
		w(eco, name)
	}
}

// appendEvent appends the event to the transparency log within tx and
// indexes it under its package version. A private package's event is
// salted first.
func appendEvent(ctx context.Context, tx *meta.Tx, ev *translog.Event) error {
	if err := saltFor(ctx, tx, ev); err != nil {
		return err
	}
	text, err := ev.Format()
	if err != nil {
		return err
	}
	id, err := translog.Append(ctx, tx, text)
	if err != nil {
		return err
	}
	return tx.IndexLogRecord(ctx, trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name), ev.Version, ev.Kind, id)
}

// writable refuses every change while the transparency log is
// read-only: its database is behind the newest checkpoint it published
// (translog.BehindError, a restored backup), and a record appended now
// would fork the log. The message says what is missing and what to run.
func (s *Service) writable() error {
	if s.log == nil {
		return nil
	}
	if err := s.log.Writable(); err != nil {
		return trove.Error(trove.ErrUnavailable, "%w", err)
	}
	return nil
}

// sign signs the transparency log's new tree, so that a change is
// provable as soon as it is visible.
func (s *Service) sign(ctx context.Context) error {
	if s.log == nil {
		return nil
	}
	if _, err := s.log.Sign(ctx); err != nil {
		return fmt.Errorf("signing the transparency log: %w", err)
	}
	return nil
}

// parse checks the ecosystem, name and version of a request.
func (s *Service) parse(eco trove.Ecosystem, name, version string) (Rules, trove.Name, string, error) {
	r := s.rules[eco]
	if r == nil {
		return nil, "", "", trove.Error(trove.ErrInvalid, "unknown ecosystem %q", eco)
	}
	n, err := r.ParseName(name)
	if err != nil {
		return nil, "", "", trove.Error(trove.ErrInvalid, "%w", err)
	}
	if version == "" {
		return r, n, "", nil
	}
	key, err := r.VersionKey(version)
	if err != nil {
		return nil, "", "", trove.Error(trove.ErrInvalid, "%w", err)
	}
	return r, n, key, nil
}

func now(s *Service) time.Time { return s.now().UTC() }

// log returns the logger for background work.
func log() *slog.Logger { return slog.Default() }
