package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/fsblob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/leak"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/osv"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/clamd"
	"github.com/trove-dev/trove/internal/scan/delta"
	"github.com/trove-dev/trove/internal/scan/knownbad"
	"github.com/trove-dev/trove/internal/scan/malware"
	"github.com/trove-dev/trove/internal/scan/secret"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// loadConfig loads, completes and validates the configuration.
func loadConfig(g *globals) (config.Config, error) {
	c, err := config.Load(g.config, os.Environ())
	if err != nil {
		return c, err
	}
	if g.data != "" {
		c.DataDir = g.data
	}
	c.SetUploadLimits(uploadLimits())
	return c, nil
}

func finish(c *config.Config) error {
	c.Finish()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// openDB opens the metadata database the configuration names, migrating
// it if database.auto_migrate allows, and refuses one that lacks
// migrations this build needs (migrate.go).
func openDB(ctx context.Context, c *config.Config) (*meta.DB, error) {
	db, err := connectDB(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := prepareSchema(ctx, c, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// connectDB opens the configured database as it is, without migrating it.
func connectDB(ctx context.Context, c *config.Config) (*meta.DB, error) {
	switch c.Database.Driver {
	case "sqlite":
		return meta.OpenSQLiteWith(ctx, c.Database.Path, meta.SQLiteOptions{NoMigrate: true})
	case "postgres":
		conn, err := c.Database.ConnString()
		if err != nil {
			return nil, err
		}
		return meta.OpenPostgres(ctx, conn, meta.PostgresOptions{MaxOpenConns: c.Database.MaxOpenConns,
			MaxIdleConns: c.Database.MaxIdleConns, ConnMaxLifetime: time.Duration(c.Database.ConnMaxLifetime), NoMigrate: true})
	}
	return nil, fmt.Errorf("database driver %q is not supported", c.Database.Driver)
}

// openBlobs opens the blob store the configuration names.
func openBlobs(ctx context.Context, c *config.Config) (blob.Store, error) {
	switch c.Storage.Backend {
	case "fs":
		return fsblob.New(c.Storage.Dir)
	case "s3":
		return openS3(ctx, c)
	}
	return nil, fmt.Errorf("storage backend %q is not supported", c.Storage.Backend)
}

// openLog opens the transparency log, creating its key on first start,
// held to the newest checkpoint kept outside the database (logguard.go):
// a database behind it opens read-only, a fork is refused.
func openLog(ctx context.Context, c *config.Config, db *meta.DB, blobs blob.Store) (*translog.Log, error) {
	signer, vkey, err := loadLogKey(ctx, c, db, blobs)
	if err != nil {
		return nil, err
	}
	o, err := logOptions(c, blobs)
	if err != nil {
		return nil, err
	}
	l, err := translog.OpenWith(ctx, db, signer, vkey, o)
	if errors.Is(err, translog.ErrFork) {
		return nil, hinted{fmt.Errorf("refusing to start: %w", err),
			"the database differs from what this server published in its transparency log; restore the matching database, or investigate tampering (docs/operations.md, Recovery)"}
	}
	return l, err
}

// newLogServer returns the transparency log's HTTP API: lookups answer
// for the private packages the request may read only (registry.LogEntries),
// proofs of private records likewise (registry.CanReadRecord), and entry
// bundles hold private records redacted for everyone
// (docs/transparency-log.md, Private packages).
func newLogServer(l *translog.Log, db *meta.DB, reg *registry.Service) *translog.Server {
	s := translog.NewServer(l, db, logLookup(reg))
	s.GateRecords(func(ctx context.Context, id int64) (bool, error) {
		err := reg.CanReadRecord(ctx, id)
		if errors.Is(err, trove.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	return s
}

// logLookup finds the transparency log records about a package version.
func logLookup(reg *registry.Service) translog.LookupFunc {
	return func(ctx context.Context, eco, name, version string) ([]int64, error) {
		entries, err := reg.LogEntries(ctx, trove.Ecosystem(eco), name, version)
		if errors.Is(err, trove.ErrNotFound) || errors.Is(err, trove.ErrInvalid) {
			return nil, fmt.Errorf("%w: %w", translog.ErrNotFound, err)
		}
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(entries))
		for i, e := range entries {
			ids[i] = e.ID
		}
		return ids, nil
	}
}

// reservations parses the configured reservations with the ecosystems' rules.
func reservations(c *config.Config) ([]registry.Reservation, error) {
	var out []registry.Reservation
	for i, r := range c.Namespaces.Reserved {
		p, err := access.ParsePattern(r.Pattern, registry.Namers(ecosystemRules()...)...)
		if err != nil {
			return nil, fmt.Errorf("namespaces.reserved[%d]: %w", i, err)
		}
		out = append(out, registry.Reservation{Pattern: p, Owners: r.Owners, Org: r.Org})
	}
	return out, nil
}

// popularNames reads the ecosystems' popular names (namespaces.popular):
// each built-in list, or the file that replaces it, and the names allowed
// through. It returns nothing when the check is off.
func popularNames(c *config.Config) ([]*registry.Popular, []access.Pattern, error) {
	p := c.Namespaces.Popular
	if !p.Enabled {
		return nil, nil, nil
	}
	var errs []error
	var lists []*registry.Popular
	for _, e := range ecosystems {
		eco := string(e.rules.Ecosystem())
		file, replaced := p.Files[eco]
		if e.popular == "" {
			if replaced {
				errs = append(errs, fmt.Errorf("namespaces.popular.files.%s: %s has no check of popular names (only npm and pypi do)", eco, eco))
			}
			continue
		}
		list := e.popular
		if replaced {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("namespaces.popular.files.%s: %w", eco, err))
				continue
			}
			list = string(b)
		}
		pop, err := registry.NewPopular(e.rules, list)
		if err != nil {
			if !replaced {
				file = "the built-in list"
			}
			errs = append(errs, fmt.Errorf("namespaces.popular.files.%s: %s: %w", eco, file, err))
			continue
		}
		lists = append(lists, pop)
	}
	var allow []access.Pattern
	for i, a := range p.Allow {
		pat, err := access.ParsePattern(a, registry.Namers(ecosystemRules()...)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("namespaces.popular.allow[%d]: %w", i, err))
			continue
		}
		allow = append(allow, pat)
	}
	return lists, allow, errors.Join(errs...)
}

// stack is a wired Trove.
type stack struct {
	db        *meta.DB
	registry  *registry.Service
	server    *server.Server
	users     *account.Users
	logins    *account.Logins
	npmOTPs   *account.NPMOTPs
	sessions  *account.Sessions
	factors   *account.Factors
	tokens    *access.Tokens
	pages     *page.Cache
	log       *translog.Log
	logServer *translog.Server // the log's HTTP API, which also proves records for the web pages
	metrics   *server.Metrics
	blobStore blob.Store // the store itself, without the cache in front
	curate    *curate.Service
	mail      *mailServices
	domains   *account.Domains
	audit     *audit.Log
}

// wire builds the whole server from a finished configuration.
func wire(ctx context.Context, c *config.Config) (*stack, error) {
	db, err := openDB(ctx, c)
	if err != nil {
		return nil, err
	}
	metrics := server.NewMetrics()
	fs, err := openBlobs(ctx, c)
	if err != nil {
		db.Close()
		return nil, err
	}
	store := metrics.CountBlobErrors(fs)
	blobs := store
	if c.Cache.BlobBytes > 0 {
		blobs = blob.NewCache(blobs, int64(c.Cache.BlobBytes), int64(c.Cache.BlobMax))
	}
	tlog, err := openLog(ctx, c, db, store)
	if err != nil {
		db.Close()
		return nil, err
	}
	reserved, err := reservations(c)
	if err != nil {
		db.Close()
		return nil, err
	}
	popular, popularAllowed, err := popularNames(c)
	if err != nil {
		db.Close()
		return nil, err
	}
	mailSvc, err := newMailServices(c, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	tokens := access.NewTokens(db, nil)
	pipeline, err := newPipeline(c, db, uploadRevoker{tokens})
	if err != nil {
		db.Close()
		return nil, err
	}
	reg, err := registry.New(registry.Config{
		DB:      db,
		Blobs:   blobs,
		Scan:    pipeline,
		Rules:   ecosystemRules(),
		TempDir: c.TempDir(),
		Log:     tlog,

		UnpublishWindow: c.Policy.UnpublishWindow.Std(),
		Reserved:        reserved,
		Popular:         popular,
		PopularAllowed:  popularAllowed,
		PublishAuth:     publishAuth(c),
		SecurityURL:     securityURL(c),
		Burst:           registry.Burst{Packages: c.Policy.BurstPackages, Window: c.Policy.BurstWindow.Std()},
		InactiveAfter:   c.Policy.InactiveAfter.Std(),
		Held:            heldNotice(mailSvc.notes),
		APIPrefix:       registry.DefaultAPIPrefix,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	pages, err := page.Open(page.Options{MaxBytes: int64(c.Cache.MaxBytes), PageMax: int64(c.Cache.PageMax),
		Dir: filepath.Join(c.DataDir, "pages"), DiskBytes: int64(c.Cache.DiskBytes)})
	if err != nil {
		db.Close()
		return nil, err
	}
	metrics.PageRenders(pages.Renders)
	s := &stack{db: db, registry: reg, log: tlog, pages: pages, metrics: metrics, blobStore: store}
	reg.Watch(func(eco trove.Ecosystem, name trove.Name) {
		if strings.Contains(string(name), "*") { // a curation pattern: any package's pages may change
			s.pages.InvalidateGroup(string(eco))
			return
		}
		s.pages.Invalidate(string(eco), string(name))
	})
	s.tokens = tokens
	s.tokens.SetLifetimes(tokenLifetimes(c))
	s.users = account.NewUsers(db, nil)
	s.users.SetHashing(limit.NewSlots(account.HashSlots(int64(c.Accounts.HashMemory)), c.Accounts.HashWait.Std()))
	s.logins = account.NewLogins(db, s.tokens, nil)
	s.npmOTPs = account.NewNPMOTPs(db, nil)
	s.mail = mailSvc
	s.mail.wireAccounts(s.users, s.tokens)
	reg.SetTakedownNotice(takedownNotice(s.mail.notes))
	reg.SetReportRate(rates(db, registry.DefaultReportRate, "reports"))
	if err := wireRecovery(c, s); err != nil {
		db.Close()
		return nil, err
	}
	if s.factors, err = openFactors(ctx, c, db, s.mail.notes); err != nil {
		db.Close()
		return nil, err
	}
	if s.curate, err = newCurate(c, db, reg); err != nil {
		db.Close()
		return nil, err
	}
	// An upstream version a scanner found malicious is never offered again.
	reg.OnMalicious(func(ctx context.Context, eco trove.Ecosystem, name trove.Name, version, why string) error {
		if len(why) > curate.MaxWhyLen {
			why = strings.ToValidUTF8(why[:curate.MaxWhyLen-3], "") + "..."
		}
		err := s.curate.FeedMalicious(ctx, "scan", curate.MarkChange{Ecosystem: eco, Name: string(name), Versions: version, Why: why})
		if errors.Is(err, trove.ErrExists) {
			return nil
		}
		return err
	})
	s.audit = audit.New(db, nil)
	s.logServer = newLogServer(tlog, db, reg)
	mounts, err := mountEcosystems(c, s)
	if err != nil {
		db.Close()
		return nil, err
	}
	leaks, err := leakKeys(c)
	if err != nil {
		db.Close()
		return nil, err
	}
	tp := newTrust(c, db, reg, s.tokens)
	mounts = append(mounts,
		server.Mount{Prefix: registry.DefaultAPIPrefix, Ecosystem: "api", Adapter: api.New(api.Options{Registry: reg, Tokens: s.tokens, Curate: s.curate,
			Notice: criticalNotice(s.mail.notes), Trust: tp, Audit: db, Leaks: leaks})},
		server.Mount{Prefix: "/_/oidc", Ecosystem: "pypi", Adapter: pypi.NewOIDC(tp)},
		server.Mount{Prefix: "/-/npm/v1/oidc", Ecosystem: "npm", Adapter: npm.NewOIDC(tp)},
		server.Mount{Prefix: "/log", Ecosystem: "log", Handler: s.logServer},
		server.Mount{Prefix: "/osv", Ecosystem: "osv", Handler: osv.New(advisorySource{db}, c.BaseURL)})
	guards := server.Guards{
		TrustedProxies:  c.Connections.TrustedProxies,
		MinBodyRate:     int64(c.Connections.MinBodyRate),
		BodyGrace:       c.Connections.BodyGrace.Std(),
		AnonymousWrites: rates(db, c.Rates.AnonymousWrites, "anonymous_writes"),
		Logins:          rates(db, c.Rates.Logins, "logins"),
		Publishes:       rates(db, c.Rates.Publishes, "publishes"),
	}
	limitForm := func(r *http.Request, anonymous, signIn bool) error {
		return guards.Limit(r, anonymous, signIn, metrics)
	}
	site, err := newWeb(c, s, mounts, tlog.Writable, limitForm)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.server = server.New(server.Options{
		Web:       site,
		Mounts:    mounts,
		Tokens:    s.tokens,
		DB:        db,
		Blobs:     blobs,
		Metrics:   metrics,
		AccessLog: c.Log.Requests,
		Guards:    guards,
		Writable:  tlog.Writable,
		Audit:     s.audit,
		Security: server.SecurityTxt{Contact: c.Security.Contact, Expires: c.SecurityExpires(), Policy: c.Security.Policy,
			PreferredLanguages: c.Security.PreferredLanguages, Canonical: c.BaseURL + "/.well-known/security.txt"},
		Transport: server.Transport{HSTS: c.HSTS(), HTTPSURL: httpsURL(c)},
	})
	return s, nil
}

// setLogger makes the configured logger, writing to standard error
// through a buffer, the default one. The caller closes the returned
// writer to flush it.
func setLogger(c *config.Config) *logWriter {
	var level slog.Level
	level.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	lw := newLogWriter(os.Stderr)
	var h slog.Handler = slog.NewTextHandler(lw, opts)
	if c.Log.Format == "json" {
		h = slog.NewJSONHandler(lw, opts)
	}
	slog.SetDefault(slog.New(h))
	return lw
}

// leakKeys returns the verifier of secret scanners' reports, or nil when
// none is configured.
func leakKeys(c *config.Config) (*leak.Keys, error) {
	if !c.SecretScanning.Enabled() {
		return nil, nil
	}
	keys, err := c.SecretScanning.PEMKeys()
	if err != nil {
		return nil, err
	}
	return leak.NewKeys(keys, c.SecretScanning.KeysURL, nil, nil)
}

// An uploadRevoker revokes the live tokens the secret scanner finds in
// uploads through the leaked-token path (access.Tokens.RevokeLeaked): the
// owner's token-leaked event and mail come from its OnRevoke hook, in the
// revocation's own transaction, which commits though the upload is
// refused.
type uploadRevoker struct{ tokens *access.Tokens }

func (u uploadRevoker) Revoke(ctx context.Context, token string, at secret.Location) (bool, error) {
	rv := access.Revocation{
		URL:    fmt.Sprintf("%s in the upload of %s %s %s (%s)", at, at.Ecosystem, at.Name, at.Version, at.Artifact),
		Source: "this registry's upload scanner, which refused the upload",
		Client: "an upload",
	}
	if who := access.PrincipalFrom(ctx); who != nil {
		rv.Client = "an upload by " + who.UserName
	}
	return u.tokens.RevokeLeaked(context.WithoutCancel(ctx), token, rv)
}

// uploadScanners returns the scanners every upload and upstream import
// passes, in order: Trove tokens, other credentials, the known-bad
// database, the malware heuristics, the comparison with the previous
// release, and ClamAV when scan.clamd is set.
func uploadScanners(c *config.Config, db *meta.DB, rev secret.Revoker) ([]scan.Scanner, error) {
	credentials, err := secret.NewLeaks(secretsVerdict(c))
	if err != nil {
		return nil, err
	}
	out := []scan.Scanner{secret.New(rev), credentials, knownbad.New(db), malware.New(), delta.New(deltaOptions(c.ScanChanges))}
	if c.Scan.Clamd != "" {
		cl, err := clamd.New(c.Scan.Clamd)
		if err != nil {
			return nil, fmt.Errorf("scan.clamd: %w", err)
		}
		out = append(out, clamd.NewScanner(cl))
	}
	return out, nil
}

// secretsVerdict is what scan.secrets makes of credentials in uploads.
func secretsVerdict(c *config.Config) scan.Verdict {
	if c.Scan.Secrets == "hold" {
		return scan.Hold
	}
	return scan.Reject
}

// deltaOptions are the thresholds of the comparison with the previous
// release.
func deltaOptions(c config.ScanChanges) delta.Options {
	return delta.Options{SizeFactor: c.SizeFactor, SizeFloor: int64(c.SizeFloor), YoungDependency: c.YoungDependency.Std(),
		NewMaintainer: c.NewMaintainer.Std(), MissingDependency: c.MissingDependency, ObfuscatedFloor: int64(c.ObfuscatedFloor)}
}
