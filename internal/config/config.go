// Package config defines Trove's one configuration type, how it is loaded
// (defaults, then a TOML file, then environment variables, then flags) and
// how it is validated.
//
// Every setting has a TOML key and an environment variable: the variable
// is TROVE_ followed by the TOML path in upper case with '.' replaced by
// '_', for example policy.unpublish_window ↔ TROVE_POLICY_UNPUBLISH_WINDOW;
// a map's entries add the key: limits.upload_bytes.npm ↔
// TROVE_LIMITS_UPLOAD_BYTES_NPM.
// An empty variable counts as unset; a list is written with commas.
// Secrets are never inline: settings that need one take a *_file path.
package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/trove-dev/trove/internal/limit"
)

// Config is the whole configuration.
type Config struct {
	// DataDir holds the database, the blobs and temporary uploads unless
	// their own settings say otherwise.
	DataDir string `toml:"data_dir"`
	// Listen is the TCP address to serve on.
	Listen string `toml:"listen"`
	// BaseURL is the public URL of this server, used in every link it
	// emits (tarball URLs, file URLs, login URLs). Default: http://<listen>,
	// or https://<listen> with TLS (with ACME: https://<first domain>).
	BaseURL string `toml:"base_url"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// on shutdown; after it they are cancelled and their uploads rolled back.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	Log          Log          `toml:"log"`
	Database     Database     `toml:"database"`
	Storage      Storage      `toml:"storage"`
	Limits       Limits       `toml:"limits"`
	Connections  Connections  `toml:"connections"`
	Rates        Rates        `toml:"rates"`
	Cache        Cache        `toml:"cache"`
	Accounts     Accounts     `toml:"accounts"`
	Web          Web          `toml:"web"`
	Policy       Policy       `toml:"policy"`
	Tokens       Tokens       `toml:"tokens"`
	Security     Security     `toml:"security"`
	Transparency Transparency `toml:"transparency"`
	Namespaces   Namespaces   `toml:"namespaces"`
	TLS          TLS          `toml:"tls"`
	Upstream     Upstream     `toml:"upstream"`
	Mail         Mail         `toml:"mail"`
	// Scan configures the upload scanners (docs/scanning.md).
	Scan Scan `toml:"scan"`
	// TrustedPublishing is off until issuers are configured.
	TrustedPublishing TrustedPublishing `toml:"trusted_publishing"`

	// baseURLDerived records that Finish derived BaseURL from the listen
	// address: what clients call the server is then unknown.
	baseURLDerived bool

	// SecretScanning configures the endpoint secret scanners report
	// leaked tokens to.
	SecretScanning SecretScanning `toml:"secret_scanning"`

	// ScanChanges configures the comparison of each release with the
	// package's previous one.
	ScanChanges ScanChanges `toml:"scan_changes"`
}

// Namespaces configures who may create packages where.
type Namespaces struct {
	// Reserved keeps the names its patterns match for designated owners
	// (and administrators). The default list reserves the Go module paths
	// of public code hosts and well-known module domains, so that no one
	// can publish a private github.com/… or golang.org/x/… module in their
	// place; a configuration file's list replaces it.
	Reserved []Reservation `toml:"reserved"`
	// Popular is the check of new names against the popular names of
	// public registries.
	Popular PopularNames `toml:"popular"`
}

// PopularNames configures the refusal of new npm and PyPI names that look
// like popular ones (docs/namespaces.md, "Popular names"): the same
// skeleton, one edit away, or a popular name with a common prefix or
// suffix added. Administrators are exempt.
type PopularNames struct {
	// Enabled turns the check on; it is on by default.
	Enabled bool `toml:"enabled"`
	// Files replace an ecosystem's built-in list by a file's (one name a
	// line, '#' comments): files.npm, files.pypi. An empty file turns the
	// check off for its ecosystem.
	Files map[string]string `toml:"files"`
	// Allow are names the check lets through, as ECOSYSTEM:NAME patterns
	// in the syntax of token scopes ("npm:reactx", "pypi:acme-*").
	Allow []string `toml:"allow"`
}

// A Reservation keeps the packages a pattern (a token scope pattern such
// as "go:github.com/acme/*") matches for its owners, or for an
// organisation's maintainers and owners (the packages belong to it).
type Reservation struct {
	Pattern string   `toml:"pattern"`
	Owners  []string `toml:"owners"` // user names; none (and no org): administrators only
	Org     string   `toml:"org"`    // an organisation's name
}

// DefaultReserved are the reservations of the default configuration.
var DefaultReserved = []Reservation{
	{Pattern: "go:github.com/*"}, {Pattern: "go:gitlab.com/*"}, {Pattern: "go:bitbucket.org/*"},
	{Pattern: "go:golang.org/*"}, {Pattern: "go:google.golang.org/*"}, {Pattern: "go:cloud.google.com/*"},
	{Pattern: "go:go.googlesource.com/*"}, {Pattern: "go:gopkg.in/*"}, {Pattern: "go:k8s.io/*"},
	{Pattern: "go:sigs.k8s.io/*"}, {Pattern: "go:go.uber.org/*"}, {Pattern: "go:go.opentelemetry.io/*"},
}

// Connections bound what clients can hold open, and how slowly they may
// send. Connections beyond a limit are answered 503 and closed at accept.
type Connections struct {
	// Max bounds the client connections open at once. It must stay well
	// below the process's open file limit (ulimit -n), which the database
	// and blob files share; trove serve lowers it if it does not.
	Max int `toml:"max"`
	// MaxPerAddress bounds the connections from one client address (an
	// IPv4 address, an IPv6 /64). Once three quarters of Max are open, an
	// address may only open new ones while it holds fewer than 8.
	MaxPerAddress int `toml:"max_per_address"`
	// HeaderTimeout bounds the time to send a request's headers.
	HeaderTimeout Duration `toml:"header_timeout"`
	// IdleTimeout closes keep-alive connections idle that long.
	IdleTimeout Duration `toml:"idle_timeout"`
	// MinBodyRate is the slowest a request body may arrive, in bytes a
	// second, once BodyGrace has passed; slower bodies are cut. 0 is off.
	MinBodyRate ByteSize `toml:"min_body_rate"`
	BodyGrace   Duration `toml:"body_grace"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For header names the client. Their connections
	// count only towards Max. Empty: the peer is the client.
	TrustedProxies Prefixes `toml:"trusted_proxies"`
}

// Rates limit how often clients may do what costs the server, written
// "N/DURATION" (at most N per DURATION, in bursts of up to N); "0" is no
// limit. Refusals answer 429 with Retry-After.
type Rates struct {
	// AnonymousWrites limits requests other than GET and HEAD without
	// credentials, per client address.
	AnonymousWrites limit.Rate `toml:"anonymous_writes"`
	// Logins limits sign-in requests (npm login, both ways, and the
	// browser login's session creation), per client address.
	Logins limit.Rate `toml:"logins"`
	// Publishes limits publish and upload requests, per API token.
	Publishes limit.Rate `toml:"publishes"`
	// UpstreamFetches limits the requests to upstream registries each
	// client address causes (names and files not cached yet); cached
	// answers are not counted.
	UpstreamFetches limit.Rate `toml:"upstream_fetches"`
}

// Tokens bounds the lifetime of API tokens, however they are made
// (trove token create, npm token create, npm login).
type Tokens struct {
	// DefaultLifetime is how long a token lasts when its creator does not
	// say.
	DefaultLifetime Duration `toml:"default_lifetime"`
	// MaxLifetime is the longest lifetime a creator may ask for.
	MaxLifetime Duration `toml:"max_lifetime"`
	// AllowNoExpiry lets creators ask for tokens that never expire
	// (trove token create --expires never). Off by default.
	AllowNoExpiry bool `toml:"allow_no_expiry"`
}

// Security is what the server publishes at /.well-known/security.txt
// (RFC 9116): how to report a vulnerability to this instance's operator.
type Security struct {
	// Contact lists where to report: mailto:, https: or tel: URIs, in
	// order of preference. Required unless base_url is a loopback address.
	Contact []string `toml:"contact"`
	// Expires is when the information becomes stale (RFC 3339), at most a
	// year ahead as RFC 9116 recommends. Required with Contact.
	Expires string `toml:"expires"`
	// Policy is the https URL of the operator's disclosure policy.
	Policy string `toml:"policy"`
	// PreferredLanguages lists language tags, as "en, de".
	PreferredLanguages string `toml:"preferred_languages"`
}

// Transparency configures the transparency log.
type Transparency struct {
	// Name is the log's name: the origin of its checkpoints, the name of
	// its signing key and of its Go checksum database. It is fixed when the
	// key is generated (first start); changing it later has no effect.
	// Default: the host and path of base_url, then "/log".
	Name string `toml:"name"`
	// Mirrors are the URLs of copies of this server's /log that others
	// keep (witnesses, mirrors: anything serving <url>/checkpoint and
	// <url>/tile/entries/… in the log's format). Their checkpoints hold
	// the database to what was published, at start and every minute;
	// trove log recover reads records from them.
	Mirrors []string `toml:"mirrors"`
	// KeyDir is the directory holding the log's signer.key and
	// verifier.key (default <data>/log). Replicas must all sign with the
	// one key: point each at a copy of it (a mounted secret, say).
	KeyDir string `toml:"key_dir"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
	// Requests logs one line per HTTP request.
	Requests bool `toml:"requests"`
}

// Database selects the metadata database.
type Database struct {
	Driver string `toml:"driver"` // sqlite or postgres
	// Path of the SQLite file. Default: <data_dir>/trove.db.
	Path string `toml:"path"`
	// URL is the PostgreSQL connection string (postgres://user@host/db?
	// sslmode=verify-full, or key=value pairs) when it holds no password:
	// the password then comes from PGPASSFILE or a client certificate.
	// A URL with a password goes in the file URLFile names instead.
	URL string `toml:"url"`
	// URLFile names a file holding the connection string, which may
	// hold a password (keep the file readable by Trove only).
	URLFile string `toml:"url_file"`
	// MaxOpenConns bounds each replica's connections to PostgreSQL
	// (default 20); MaxIdleConns how many stay open while idle (default:
	// all of them); ConnMaxLifetime closes older connections (0: never).
	MaxOpenConns    int      `toml:"max_open_conns"`
	MaxIdleConns    int      `toml:"max_idle_conns"`
	ConnMaxLifetime Duration `toml:"conn_max_lifetime"`
	// AutoMigrate applies the migrations the database lacks when trove
	// serve (or any command) opens it; default true on both engines.
	// When false, a database that lacks migrations is refused with the
	// trove migrate up command to run (docs/operations.md, Upgrades).
	AutoMigrate bool `toml:"auto_migrate"`
}

// Storage selects the blob store.
type Storage struct {
	Backend string `toml:"backend"` // fs or s3
	// Dir of the fs backend. Default: <data_dir>/blobs.
	Dir string `toml:"dir"`
	// S3 configures the s3 backend.
	S3 S3 `toml:"s3"`
	// ScrubInterval is how often trove serve re-reads every stored file
	// to check it against its SHA-256 (as trove fsck does); 0 is never.
	ScrubInterval Duration `toml:"scrub_interval"`
	// ScrubRate bounds the bytes a second a scrub reads.
	ScrubRate ByteSize `toml:"scrub_rate"`
}

// Limits bound what clients may send.
type Limits struct {
	// UploadBytes bounds one upload of each ecosystem, by ecosystem name:
	// an npm publish request (base64 tarball inside JSON, so about 4/3 of
	// the tarball), a PyPI distribution file, a Go module zip. Every
	// ecosystem has a default, and some a maximum (Go: 500MiB, the go
	// command's own limit): SetUploadLimits records them.
	UploadBytes map[string]ByteSize `toml:"upload_bytes"`

	uploadMax map[string]ByteSize // per ecosystem, from SetUploadLimits; 0: none
}

// SetUploadLimits records the ecosystems that take uploads, each with its
// default and maximum upload size (0: no maximum): it fills in the
// defaults of ecosystems the configuration does not set, and Validate
// refuses the others and sizes above the maxima. The command line calls it
// with what its ecosystems declare, before Validate.
func (c *Config) SetUploadLimits(limits map[string][2]ByteSize) {
	if c.Limits.UploadBytes == nil {
		c.Limits.UploadBytes = make(map[string]ByteSize)
	}
	c.Limits.uploadMax = make(map[string]ByteSize)
	for eco, l := range limits {
		if _, ok := c.Limits.UploadBytes[eco]; !ok {
			c.Limits.UploadBytes[eco] = l[0]
		}
		c.Limits.uploadMax[eco] = l[1]
	}
}

// ecosystems returns the known ecosystems (SetUploadLimits), or nil.
func (c *Config) ecosystems() []string {
	if c.Limits.uploadMax == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(c.Limits.uploadMax))
}

// Cache sizes the in-memory caches of the read path.
type Cache struct {
	// MaxBytes bounds the rendered metadata documents kept in memory.
	MaxBytes ByteSize `toml:"max_bytes"`
	// PageMax bounds one document kept in memory. Larger ones are kept
	// on disk under <data_dir>/pages, up to DiskBytes in all (0: not at
	// all, and they are rendered again for every request).
	PageMax   ByteSize `toml:"page_max"`
	DiskBytes ByteSize `toml:"disk_bytes"`
	// BlobBytes bounds the small files (up to BlobMax each) kept in memory
	// for downloads; 0 turns the blob cache off.
	BlobBytes ByteSize `toml:"blob_bytes"`
	BlobMax   ByteSize `toml:"blob_max"`
}

// Accounts configures account creation.
type Accounts struct {
	// OpenRegistration lets anyone create an account from a client
	// (npm adduser). Off by default: administrators create accounts.
	// Deprecated: use Signup = "open".
	OpenRegistration bool `toml:"open_registration"`
	// Signup is who may create accounts: "closed" (the default:
	// administrators), "invite" (administrators invite by email) or
	// "open" (anyone; npm adduser works only then).
	Signup string `toml:"signup"`
	// HashMemory bounds the memory password hashing takes at once: each
	// sign-in's argon2id hash holds 19 MiB while it runs, so it sets the
	// number of concurrent hashes (96MiB: 5). 0, the default, is 19 MiB
	// per CPU: one hash per CPU, which already keeps them all busy.
	HashMemory ByteSize `toml:"hash_memory"`
	// HashWait is how long a sign-in waits for its turn before being
	// refused with 503 and Retry-After.
	HashWait Duration `toml:"hash_wait"`
	// PublishAuth is the level of authentication the MFA policy asks of
	// every change to a package (publish, tags, owners, yank, deprecate,
	// delete): password, mfa (the default) or phishing-resistant. Owners
	// may raise it per package; critical packages need
	// phishing-resistant whatever it is.
	PublishAuth string `toml:"publish_auth"`
	// FactorKeyFile holds the key that seals TOTP secrets in the
	// database (docs/accounts.md); "" is <data_dir>/keys/factors.key,
	// created on first use. Servers sharing a database need the same file.
	FactorKeyFile string `toml:"factor_key_file"`

	// BreachedPasswordsURL is the operator's k-anonymity range API of
	// breached passwords (GET <url>/range/<5 hex of SHA-1> answering
	// SUFFIX:COUNT lines); BreachedPasswordsFile is instead one local file
	// of sorted SHA1:COUNT lines. At most one; neither: no breach check.
	BreachedPasswordsURL  string `toml:"breached_passwords_url"`
	BreachedPasswordsFile string `toml:"breached_passwords_file"`
	// DNSServer ("host:port") answers the email domain checks; empty:
	// the system's resolver.
	DNSServer string `toml:"dns_server"`
	// DomainRecheck is how often each email domain in use is checked
	// again for having lapsed.
	DomainRecheck Duration `toml:"domain_recheck"`
}

// validateRecovery checks the breach and DNS settings.
func (a *Accounts) validateRecovery() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.BreachedPasswordsURL != "" && a.BreachedPasswordsFile != "" {
		bad("accounts: set breached_passwords_url or breached_passwords_file, not both")
	}
	if u := a.BreachedPasswordsURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad("accounts.breached_passwords_url: %q is not an http(s) URL", u)
		} else if p.User != nil {
			bad("accounts.breached_passwords_url: must not hold credentials")
		}
	}
	if s := a.DNSServer; s != "" {
		if _, _, err := net.SplitHostPort(s); err != nil && net.ParseIP(s) == nil {
			bad("accounts.dns_server: %q is not host:port or an IP address", s)
		}
	}
	if a.DomainRecheck < Duration(time.Hour) {
		bad("accounts.domain_recheck: %s is below 1h", a.DomainRecheck)
	}
	return errs
}

// Web configures the web interface's browser sessions (docs/web.md).
type Web struct {
	// SessionLifetime ends a session this long after its sign-in.
	SessionLifetime Duration `toml:"session_lifetime"`
	// SessionIdle ends a session this long after its last request.
	SessionIdle Duration `toml:"session_idle"`
	// Sudo is how long a re-authentication counts for sensitive changes
	// (password, tokens, sessions, administration).
	Sudo Duration `toml:"sudo"`
}

// Policy holds registry policies.
type Policy struct {
	// UnpublishWindow is how long after publication owners may delete a
	// version themselves.
	UnpublishWindow Duration `toml:"unpublish_window"`
	// BurstPackages is the worm guard: one credential (an API token, or
	// a user's other credentials) that published new versions of more
	// than this many distinct packages within BurstWindow has its later
	// uploads held for review; 0 turns the guard off.
	BurstPackages int      `toml:"burst_packages"`
	BurstWindow   Duration `toml:"burst_window"`
	// InactiveAfter is the inactivity review's threshold (docs/roles.md):
	// people with a role and no activity for this long are listed as
	// inactive to owners, who are reminded; 0 turns the review off.
	InactiveAfter Duration `toml:"inactive_after"`
}

// Default returns the zero-configuration setup: SQLite and files under
// ./trove-data, serving on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir:         "trove-data",
		Listen:          "127.0.0.1:8080",
		ShutdownTimeout: Duration(30 * time.Second),
		Log:             Log{Level: "info", Format: "text", Requests: true},
		Database:        Database{Driver: "sqlite", AutoMigrate: true},
		Storage:         Storage{Backend: "fs", S3: DefaultS3, ScrubInterval: Duration(7 * Day), ScrubRate: 32 << 20},
		Connections: Connections{Max: 4096, MaxPerAddress: 256, HeaderTimeout: Duration(10 * time.Second),
			IdleTimeout: Duration(60 * time.Second), MinBodyRate: 4 << 10, BodyGrace: Duration(10 * time.Second)},
		Rates: Rates{AnonymousWrites: limit.Rate{N: 30, Per: time.Minute}, Logins: limit.Rate{N: 10, Per: time.Minute},
			Publishes: limit.Rate{N: 60, Per: time.Minute}, UpstreamFetches: limit.Rate{N: 1200, Per: time.Minute}},
		Cache:             Cache{MaxBytes: 64 << 20, PageMax: 8 << 20, DiskBytes: 1 << 30, BlobBytes: 32 << 20, BlobMax: 256 << 10},
		Accounts:          Accounts{HashWait: Duration(2 * time.Second), DomainRecheck: Duration(7 * Day), PublishAuth: "mfa"},
		Web:               Web{SessionLifetime: Duration(12 * time.Hour), SessionIdle: Duration(time.Hour), Sudo: Duration(10 * time.Minute)},
		Policy:            Policy{UnpublishWindow: Duration(72 * time.Hour), BurstPackages: 5, BurstWindow: Duration(10 * time.Minute), InactiveAfter: Duration(365 * Day)},
		Tokens:            Tokens{DefaultLifetime: Duration(90 * Day), MaxLifetime: Duration(365 * Day)},
		Namespaces:        Namespaces{Reserved: slices.Clone(DefaultReserved), Popular: PopularNames{Enabled: true}},
		TLS:               TLS{HSTSMaxAge: Duration(DefaultHSTSMaxAge)},
		Upstream:          DefaultUpstream,
		Scan:              Scan{Secrets: "reject"},
		Mail:              Mail{Port: 587, TLS: "mandatory", Timeout: Duration(30 * time.Second), PerRecipientHour: 10},
		TrustedPublishing: TrustedPublishing{Leeway: Duration(time.Minute)},
		ScanChanges:       DefaultScanChanges,
	}
}

// Day is 24 hours, the unit of the "d" suffix of durations.
const Day = 24 * time.Hour

// Load returns the defaults overridden by the TOML file at path (if path
// is not empty) and then by TROVE_* environment variables from environ.
func Load(path string, environ []string) (Config, error) {
	c := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			return c, fmt.Errorf("reading config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return c, fmt.Errorf("reading config %s: unknown settings: %s%s", path, strings.Join(keys, ", "), inlineSecretHint(keys))
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		return c, err
	}
	return c, nil
}

// Finish fills settings derived from others (paths under the data
// directory, the base URL from the listen address).
func (c *Config) Finish() {
	if c.Database.Path == "" {
		c.Database.Path = filepath.Join(c.DataDir, "trove.db")
	}
	if c.Storage.Dir == "" {
		c.Storage.Dir = filepath.Join(c.DataDir, "blobs")
	}
	if scheme, host := c.finishTLS(); c.BaseURL == "" {
		c.BaseURL = scheme + "://" + host
		c.baseURLDerived = true
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Transparency.Name == "" {
		if u, err := url.Parse(c.BaseURL); err == nil && u.Host != "" {
			c.Transparency.Name = u.Host + strings.TrimRight(u.Path, "/") + "/log"
		}
	}
}

// LogDir holds the transparency log's keys and last signed checkpoint.
func (c *Config) LogDir() string { return filepath.Join(c.DataDir, "log") }

// KeyDir holds the transparency log's keys: transparency.key_dir, or
// LogDir.
func (c *Config) KeyDir() string {
	if c.Transparency.KeyDir != "" {
		return c.Transparency.KeyDir
	}
	return c.LogDir()
}

// FactorKeyFile is accounts.factor_key_file, or
// <data_dir>/keys/factors.key.
func (c *Config) FactorKeyFile() string {
	if c.Accounts.FactorKeyFile != "" {
		return c.Accounts.FactorKeyFile
	}
	return filepath.Join(c.DataDir, "keys", "factors.key")
}

// TempDir is where uploads are spooled while they are checked.
func (c *Config) TempDir() string { return filepath.Join(c.DataDir, "tmp") }

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.DataDir == "" {
		bad("data_dir: must not be empty")
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port (%v)", c.Listen, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen: port %q is not a number from 0 to 65535", port)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil:
			bad("base_url: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("base_url: %q must start with http:// or https://", c.BaseURL)
		case u.Host == "":
			bad("base_url: %q has no host", c.BaseURL)
		case u.RawQuery != "" || u.Fragment != "":
			bad("base_url: %q must not have a query or fragment", c.BaseURL)
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout: must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format: %q is not text or json", c.Log.Format)
	}
	errs = append(errs, c.Database.validate()...)
	if c.Storage.Backend != "fs" && c.Storage.Backend != "s3" {
		bad("storage.backend: %q is not supported (supported: fs, s3)", c.Storage.Backend)
	}
	errs = append(errs, c.validateS3()...)
	errs = append(errs, c.Upstream.validate(c.ecosystems())...)
	for _, eco := range slices.Sorted(maps.Keys(c.Limits.UploadBytes)) {
		n := c.Limits.UploadBytes[eco]
		max, known := c.Limits.uploadMax[eco]
		switch {
		case c.Limits.uploadMax != nil && !known:
			bad("limits.upload_bytes.%s: there is no ecosystem %q (known: %s)", eco, eco, strings.Join(slices.Sorted(maps.Keys(c.Limits.uploadMax)), ", "))
		case n < 1<<10:
			bad("limits.upload_bytes.%s: %s is below 1KiB", eco, n)
		case max > 0 && n > max:
			bad("limits.upload_bytes.%s: %s is above %s, the largest upload its clients make", eco, n, max)
		}
	}
	if c.Cache.MaxBytes < 0 || c.Cache.BlobBytes < 0 || c.Cache.BlobMax < 0 || c.Cache.PageMax < 0 || c.Cache.DiskBytes < 0 {
		bad("cache: sizes must not be negative")
	}
	if c.Connections.Max < 16 {
		bad("connections.max: %d is below 16", c.Connections.Max)
	}
	if c.Connections.MaxPerAddress < 1 || c.Connections.MaxPerAddress > c.Connections.Max {
		bad("connections.max_per_address: %d is outside 1..connections.max", c.Connections.MaxPerAddress)
	}
	if c.Connections.HeaderTimeout <= 0 || c.Connections.IdleTimeout <= 0 {
		bad("connections: header_timeout and idle_timeout must be positive")
	}
	if c.Connections.MinBodyRate < 0 || c.Connections.BodyGrace < 0 {
		bad("connections: min_body_rate and body_grace must not be negative")
	}
	if c.Accounts.HashMemory != 0 && c.Accounts.HashMemory < 19<<20 {
		bad("accounts.hash_memory: %d is below 19MiB, the memory of one password hash (0: 19MiB per CPU)", c.Accounts.HashMemory)
	}
	errs = append(errs, c.Mail.validate()...)
	errs = append(errs, c.TrustedPublishing.validate()...)
	if c.TrustedPublishing.Enabled() && (c.BaseURL == "" || c.baseURLDerived) {
		// The audiences CI jobs ask for are names of the server as they
		// call it (npm asks for "npm:<host of the registry URL>"), which
		// the listen address is not.
		bad("trusted_publishing: issuers need base_url: the ID tokens' audience is the host name CI jobs call this server by " +
			"(npm asks for npm:<host>); set base_url = \"https://trove.example.com\" (or TROVE_BASE_URL)")
	}
	errs = append(errs, c.SecretScanning.validate()...)
	errs = append(errs, c.Scan.validate()...)
	errs = append(errs, c.ScanChanges.validate()...)
	errs = append(errs, c.Accounts.validateSignup()...)
	if c.Accounts.HashWait <= 0 {
		bad("accounts.hash_wait: must be positive")
	}
	if !slices.Contains([]string{"password", "mfa", "phishing-resistant"}, c.Accounts.PublishAuth) {
		bad("accounts.publish_auth: %q is not a level: want password, mfa (the default) or phishing-resistant", c.Accounts.PublishAuth)
	}
	if c.Web.SessionLifetime <= 0 || c.Web.SessionIdle <= 0 || c.Web.Sudo <= 0 {
		bad("web: session_lifetime, session_idle and sudo must be positive")
	}
	if c.Web.SessionIdle > c.Web.SessionLifetime {
		bad("web.session_idle: %s is longer than web.session_lifetime (%s)", c.Web.SessionIdle, c.Web.SessionLifetime)
	}
	if c.Storage.ScrubInterval < 0 || c.Storage.ScrubRate < 1<<20 {
		bad("storage: scrub_interval must not be negative, and scrub_rate must be at least 1MiB")
	}
	if c.Policy.UnpublishWindow < 0 {
		bad("policy.unpublish_window: must not be negative")
	}
	if c.Policy.InactiveAfter < 0 {
		bad("policy.inactive_after: must not be negative (0 turns the inactivity review off)")
	} else if c.Policy.InactiveAfter > 0 && c.Policy.InactiveAfter < Duration(Day) {
		bad("policy.inactive_after: %s is less than a day: people are inactive after months, as \"365d\" (0 turns the review off)", time.Duration(c.Policy.InactiveAfter))
	}
	if c.Policy.BurstPackages < 0 {
		bad("policy.burst_packages: must not be negative (0 turns the worm guard off)")
	}
	if c.Policy.BurstPackages > 0 && c.Policy.BurstWindow <= 0 {
		bad("policy.burst_window: must be positive while policy.burst_packages is set (for example \"10m\")")
	}
	for i, r := range c.Namespaces.Reserved {
		if eco, glob, ok := strings.Cut(r.Pattern, ":"); !ok || eco == "" || glob == "" {
			bad("namespaces.reserved[%d].pattern: %q is not ECOSYSTEM:NAME (e.g. go:github.com/acme/*)", i, r.Pattern)
		}
		if r.Org != "" && len(r.Owners) > 0 {
			bad("namespaces.reserved[%d]: set owners or org, not both (an organisation's owners decide who publishes there)", i)
		}
	}
	errs = append(errs, c.Namespaces.Popular.validate(c.ecosystems())...)
	if n := c.Transparency.Name; n != "" && (strings.ContainsAny(n, "+ \t\n") || !utf8.ValidString(n)) {
		bad("transparency.name: %q must not contain spaces or '+'", n)
	}
	for _, m := range c.Transparency.Mirrors {
		if u, err := url.Parse(m); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("transparency.mirrors: %q is not an http:// or https:// URL like https://mirror.example/log", m)
		}
	}
	switch t := c.Tokens; {
	case t.DefaultLifetime <= 0 || t.MaxLifetime <= 0:
		bad("tokens: default_lifetime and max_lifetime must be positive (allow_no_expiry = true permits tokens without expiry)")
	case t.DefaultLifetime > t.MaxLifetime:
		bad("tokens.default_lifetime: %s is longer than tokens.max_lifetime %s", t.DefaultLifetime, t.MaxLifetime)
	}
	errs = append(errs, c.validateSecurity()...)
	errs = append(errs, c.validateTLS()...)
	errs = append(errs, c.Accounts.validateRecovery()...)
	return errors.Join(errs...)
}

// validate checks the popular names' settings; which ecosystems have a
// list is known where the lists are (trove serve reads the files).
func (p PopularNames) validate(ecosystems []string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, eco := range slices.Sorted(maps.Keys(p.Files)) {
		switch {
		case ecosystems != nil && !slices.Contains(ecosystems, eco):
			bad("namespaces.popular.files.%s: there is no ecosystem %q (known: %s)", eco, eco, strings.Join(ecosystems, ", "))
		case strings.TrimSpace(p.Files[eco]) == "":
			bad("namespaces.popular.files.%s: empty: name a file (an empty file turns the check off for %s), or remove the setting to use the built-in list", eco, eco)
		}
	}
	for i, a := range p.Allow {
		if eco, name, ok := strings.Cut(a, ":"); !ok || eco == "" || name == "" {
			bad("namespaces.popular.allow[%d]: %q is not ECOSYSTEM:NAME (e.g. npm:reactx)", i, a)
		}
	}
	return errs
}

// validateSecurity checks the security.txt settings (RFC 9116).
func (c *Config) validateSecurity() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Security
	if len(s.Contact) == 0 {
		if !c.LoopbackOnly() {
			bad("security.contact: required when base_url (%s) is not a loopback address: every instance publishes how to report a vulnerability (/.well-known/security.txt); "+
				"set contact = [\"mailto:security@your.domain\"] and expires = \"<a date within a year>\"", c.BaseURL)
		}
		if s.Expires != "" || s.Policy != "" || s.PreferredLanguages != "" {
			bad("security: expires, policy and preferred_languages need a contact")
		}
		return errs
	}
	for _, ct := range s.Contact {
		u, err := url.Parse(ct)
		switch {
		case err != nil || u.Scheme == "":
			hint := ""
			if strings.Contains(ct, "@") && !strings.Contains(ct, ":") {
				hint = fmt.Sprintf(" (write \"mailto:%s\")", ct)
			}
			bad("security.contact: %q is not a mailto:, https: or tel: URI%s", ct, hint)
		case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"), u.Scheme == "tel" && u.Opaque != "":
		case u.Scheme == "https" && u.Host != "":
		case u.Scheme == "http":
			bad("security.contact: %q: web contacts must use https (RFC 9116)", ct)
		default:
			bad("security.contact: %q is not a mailto:, https: or tel: URI", ct)
		}
	}
	if s.Expires == "" {
		bad("security.expires: required with a contact (RFC 9116): a date within a year, like %q", time.Now().AddDate(1, 0, 0).UTC().Format("2006-01-02T00:00:00Z"))
	} else if _, err := time.Parse(time.RFC3339, s.Expires); err != nil {
		bad("security.expires: %q is not an RFC 3339 time like 2027-06-30T00:00:00Z", s.Expires)
	}
	if s.Policy != "" {
		if u, err := url.Parse(s.Policy); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("security.policy: %q is not an https URL", s.Policy)
		}
	}
	for _, l := range strings.Split(s.PreferredLanguages, ",") {
		if l = strings.TrimSpace(l); l != "" && !langTag.MatchString(l) {
			bad("security.preferred_languages: %q is not a language tag like en or pt-BR", l)
		}
	}
	return errs
}

var langTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// LoopbackOnly reports whether the public URL names a loopback host
// (127.0.0.0/8, ::1, localhost): an instance no one else can reach.
func (c *Config) LoopbackOnly() bool {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// SecurityExpires returns when the configured security.txt expires, or
// the zero time when none is configured.
func (c *Config) SecurityExpires() time.Time {
	t, _ := time.Parse(time.RFC3339, c.Security.Expires)
	return t
}

// Warnings returns what is valid but likely wrong at time now: things
// config check reports and serve logs.
func (c *Config) Warnings(now time.Time) []string {
	var out []string
	if exp := c.SecurityExpires(); !exp.IsZero() {
		switch {
		case !now.Before(exp):
			out = append(out, fmt.Sprintf("security.expires: %s has passed: clients treat the security contact as stale; set a new date", c.Security.Expires))
		case exp.Sub(now) < 30*Day:
			out = append(out, fmt.Sprintf("security.expires: %s is less than 30 days away", c.Security.Expires))
		case exp.Sub(now) > 366*Day:
			out = append(out, fmt.Sprintf("security.expires: %s is more than a year away (RFC 9116 recommends less)", c.Security.Expires))
		}
	}
	if c.Tokens.AllowNoExpiry {
		out = append(out, "tokens.allow_no_expiry: tokens that never expire may be created")
	}
	return append(out, c.mailWarnings()...)
}

// EnvVars lists every environment variable Load reads, for help texts.
func EnvVars() []string {
	var out []string
	walk(reflect.ValueOf(&Config{}).Elem(), "TROVE", func(name string, field reflect.Value) {
		if field.Kind() == reflect.Map {
			name += "_<ECOSYSTEM>"
		}
		out = append(out, name)
	})
	return out
}

var textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()

func walk(v reflect.Value, prefix string, fn func(name string, field reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := prefix + "_" + strings.ToUpper(f.Tag.Get("toml"))
		leaf := reflect.PointerTo(f.Type).Implements(textUnmarshaler)
		tables := f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Slice && f.Type.Elem().Elem().Kind() == reflect.Struct
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String && !leaf || tables || !f.IsExported() {
			continue // lists of tables are set in the configuration file only
		}
		if f.Type.Kind() == reflect.Struct && !leaf {
			walk(v.Field(i), name, fn)
			continue
		}
		fn(name, v.Field(i))
	}
}

func applyEnv(c *Config, environ []string) error {
	env := make(map[string]string)
	for _, kv := range environ {
		// An empty variable counts as unset, as it does for TROVE_URL.
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TROVE_") && v != "" {
			env[k] = v
		}
	}
	var errs []error
	walk(reflect.ValueOf(c).Elem(), "TROVE", func(name string, field reflect.Value) {
		if field.Kind() == reflect.Map {
			errs = append(errs, setMap(field, name, env)...)
			return
		}
		s, ok := env[name]
		if !ok {
			return
		}
		if err := setField(field, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// setMap sets the entries of a map setting from the variables NAME_<KEY>
// (TROVE_LIMITS_UPLOAD_BYTES_NPM sets limits.upload_bytes.npm).
func setMap(field reflect.Value, name string, env map[string]string) []error {
	var errs []error
	for k, s := range env {
		key, ok := strings.CutPrefix(k, name+"_")
		if !ok || key == "" {
			continue
		}
		if field.IsNil() {
			field.Set(reflect.MakeMap(field.Type()))
		}
		v := reflect.New(field.Type().Elem()).Elem()
		if err := setField(v, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		field.SetMapIndex(reflect.ValueOf(strings.ToLower(key)), v)
	}
	return errs
}

// setField parses s into a field of one of the types Config uses.
func setField(field reflect.Value, s string) error {
	if u, ok := field.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		field.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		field.SetBool(b)
	case reflect.Slice:
		if field.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported setting type %s", field.Type())
		}
		// A list is written with commas: "mailto:a@x.test,https://x.test/r".
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		field.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported setting type %s", field.Type())
	}
	return nil
}

// Duration is a time.Duration written as "30s", "72h", "1h30m", or with
// days: "90d", "1d12h". Every duration Trove reads (settings, variables,
// command-line flags) takes this form.
type Duration time.Duration

// ParseDuration parses a duration: a Go duration, optionally preceded by
// a whole number of days ("90d", "1d12h"). It must not be negative.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration like 30s, 72h or 90d", s)
	var days time.Duration
	if i := strings.IndexByte(in, 'd'); i >= 0 {
		n, err := strconv.ParseInt(in[:i], 10, 64)
		if err != nil || n < 0 || n > int64(math.MaxInt64/Day)-1 {
			return 0, bad
		}
		days, in = time.Duration(n)*Day, in[i+1:]
		if in == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(in)
	if err != nil || d < 0 || d > math.MaxInt64-days {
		return 0, bad
	}
	return days + d, nil
}

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats a duration the way the documentation writes them: whole
// days of a week or more as "90d", anything else as Go does, without
// zero units ("72h", "30s", "1h30m").
func (d Duration) String() string {
	v := time.Duration(d)
	if v >= 7*Day && v%Day == 0 {
		return strconv.FormatInt(int64(v/Day), 10) + "d"
	}
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText formats a duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Set parses a duration given as a command-line flag (pflag.Value).
func (d *Duration) Set(s string) error { return d.UnmarshalText([]byte(s)) }

// Type names the flag's type in help texts (pflag.Value).
func (d *Duration) Type() string { return "duration" }

// ByteSize is a size in bytes, written as a number or with a unit:
// 512, 64KiB, 100MiB, 1GiB, 10MB.
type ByteSize int64

var units = []struct {
	suffix string
	n      int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size like 512, 64KiB or 100MiB", text)
	}
	*b = ByteSize(n * mult)
	return nil
}

// String formats a size the way the documentation writes them: in the
// largest binary unit that divides it ("128MiB", "256KiB"), else in bytes.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText formats a size as String does.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Prefixes are IP prefixes, written as a TOML array of addresses or CIDR
// prefixes, or as one string of them separated by commas (in TROVE_*
// variables): ["10.0.0.0/8", "192.0.2.1"].
type Prefixes []netip.Prefix

// UnmarshalText parses comma-separated addresses and prefixes.
func (p *Prefixes) UnmarshalText(b []byte) error {
	var out Prefixes
	for _, f := range strings.Split(string(b), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pfx, err := parsePrefix(f)
		if err != nil {
			return err
		}
		out = append(out, pfx)
	}
	*p = out
	return nil
}

// UnmarshalTOML takes an array of strings, or one string.
func (p *Prefixes) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return p.UnmarshalText([]byte(v))
	case []any:
		var out Prefixes
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("%v is not an address or prefix string", e)
			}
			pfx, err := parsePrefix(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			out = append(out, pfx)
		}
		*p = out
		return nil
	}
	return fmt.Errorf("%v is not a list of addresses or prefixes", v)
}

// MarshalText formats the prefixes separated by commas.
func (p Prefixes) MarshalText() ([]byte, error) {
	s := make([]string, len(p))
	for i, pfx := range p {
		s[i] = pfx.String()
	}
	return []byte(strings.Join(s, ",")), nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix like 10.0.0.0/8", s)
	}
	return pfx.Masked(), nil
}
