// Package config defines Trove's one configuration type, how it is loaded
// (defaults, then a TOML file, then environment variables, then flags) and
// how it is validated.
//
// Every setting has a TOML key and an environment variable: the variable
// is TROVE_ followed by the TOML path in upper case with '.' replaced by
// '_', for example limits.npm_publish_bytes ↔ TROVE_LIMITS_NPM_PUBLISH_BYTES.
// Secrets are never inline: settings that need one take a *_file path.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration.
type Config struct {
	// DataDir holds the database, the blobs and temporary uploads unless
	// their own settings say otherwise.
	DataDir string `toml:"data_dir"`
	// Listen is the TCP address to serve on.
	Listen string `toml:"listen"`
	// BaseURL is the public URL of this server, used in every link it
	// emits (tarball URLs, file URLs, login URLs). Default: http://<listen>.
	BaseURL string `toml:"base_url"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// on shutdown; after it they are cancelled and their uploads rolled back.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	Log          Log          `toml:"log"`
	Database     Database     `toml:"database"`
	Storage      Storage      `toml:"storage"`
	Limits       Limits       `toml:"limits"`
	Cache        Cache        `toml:"cache"`
	Accounts     Accounts     `toml:"accounts"`
	Policy       Policy       `toml:"policy"`
	Transparency Transparency `toml:"transparency"`
	Namespaces   Namespaces   `toml:"namespaces"`
}

// Namespaces configures who may create packages where.
type Namespaces struct {
	// Reserved keeps the names its patterns match for designated owners
	// (and administrators). The default list reserves the Go module paths
	// of public code hosts and well-known module domains, so that no one
	// can publish a private github.com/… or golang.org/x/… module in their
	// place; a configuration file's list replaces it.
	Reserved []Reservation `toml:"reserved"`
}

// A Reservation keeps the packages a pattern (a token scope pattern such
// as "go:github.com/acme/*") matches for its owners.
type Reservation struct {
	Pattern string   `toml:"pattern"`
	Owners  []string `toml:"owners"` // user names; none: administrators only
}

// DefaultReserved are the reservations of the default configuration.
var DefaultReserved = []Reservation{
	{Pattern: "go:github.com/*"}, {Pattern: "go:gitlab.com/*"}, {Pattern: "go:bitbucket.org/*"},
	{Pattern: "go:golang.org/*"}, {Pattern: "go:google.golang.org/*"}, {Pattern: "go:cloud.google.com/*"},
	{Pattern: "go:go.googlesource.com/*"}, {Pattern: "go:gopkg.in/*"}, {Pattern: "go:k8s.io/*"},
	{Pattern: "go:sigs.k8s.io/*"}, {Pattern: "go:go.uber.org/*"}, {Pattern: "go:go.opentelemetry.io/*"},
}

// Transparency configures the transparency log.
type Transparency struct {
	// Name is the log's name: the origin of its checkpoints, the name of
	// its signing key and of its Go checksum database. It is fixed when the
	// key is generated (first start); changing it later has no effect.
	// Default: the host and path of base_url, then "/log".
	Name string `toml:"name"`
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
	Driver string `toml:"driver"` // sqlite
	// Path of the SQLite file. Default: <data_dir>/trove.db.
	Path string `toml:"path"`
}

// Storage selects the blob store.
type Storage struct {
	Backend string `toml:"backend"` // fs
	// Dir of the fs backend. Default: <data_dir>/blobs.
	Dir string `toml:"dir"`
}

// Limits bound what clients may send.
type Limits struct {
	// NPMPublishBytes bounds an npm publish request body (base64 tarball
	// inside JSON, so about 4/3 of the tarball).
	NPMPublishBytes ByteSize `toml:"npm_publish_bytes"`
	// PyPIUploadBytes bounds one uploaded PyPI distribution file.
	PyPIUploadBytes ByteSize `toml:"pypi_upload_bytes"`
	// GoZipBytes bounds an uploaded Go module zip (the go command's own
	// limit is 500 MiB).
	GoZipBytes ByteSize `toml:"go_zip_bytes"`
}

// Cache sizes the in-memory caches of the read path.
type Cache struct {
	// MaxBytes bounds the rendered metadata documents.
	MaxBytes ByteSize `toml:"max_bytes"`
	// BlobBytes bounds the small files (up to BlobMax each) kept in memory
	// for downloads; 0 turns the blob cache off.
	BlobBytes ByteSize `toml:"blob_bytes"`
	BlobMax   ByteSize `toml:"blob_max"`
}

// Accounts configures account creation.
type Accounts struct {
	// OpenRegistration lets anyone create an account from a client
	// (npm adduser). Off by default: administrators create accounts.
	OpenRegistration bool `toml:"open_registration"`
}

// Policy holds registry policies.
type Policy struct {
	// UnpublishWindow is how long after publication owners may delete a
	// version themselves.
	UnpublishWindow Duration `toml:"unpublish_window"`
}

// Default returns the zero-configuration setup: SQLite and files under
// ./trove-data, serving on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir:         "trove-data",
		Listen:          "127.0.0.1:8080",
		ShutdownTimeout: Duration(30 * time.Second),
		Log:             Log{Level: "info", Format: "text", Requests: true},
		Database:        Database{Driver: "sqlite"},
		Storage:         Storage{Backend: "fs"},
		Limits:          Limits{NPMPublishBytes: 128 << 20, PyPIUploadBytes: 100 << 20, GoZipBytes: 500 << 20},
		Cache:           Cache{MaxBytes: 64 << 20, BlobBytes: 32 << 20, BlobMax: 256 << 10},
		Policy:          Policy{UnpublishWindow: Duration(72 * time.Hour)},
		Namespaces:      Namespaces{Reserved: slices.Clone(DefaultReserved)},
	}
}

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
			return c, fmt.Errorf("reading config %s: unknown settings: %s", path, strings.Join(keys, ", "))
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
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Listen
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
	if c.Database.Driver != "sqlite" {
		bad("database.driver: %q is not supported (supported: sqlite)", c.Database.Driver)
	}
	if c.Storage.Backend != "fs" {
		bad("storage.backend: %q is not supported (supported: fs)", c.Storage.Backend)
	}
	if c.Limits.NPMPublishBytes < 1<<10 {
		bad("limits.npm_publish_bytes: %d is below 1KiB", c.Limits.NPMPublishBytes)
	}
	if c.Limits.PyPIUploadBytes < 1<<10 {
		bad("limits.pypi_upload_bytes: %d is below 1KiB", c.Limits.PyPIUploadBytes)
	}
	if c.Limits.GoZipBytes < 1<<10 || c.Limits.GoZipBytes > 500<<20 {
		bad("limits.go_zip_bytes: %d is outside 1KiB..500MiB (the go command refuses larger module zips)", c.Limits.GoZipBytes)
	}
	if c.Cache.MaxBytes < 0 || c.Cache.BlobBytes < 0 || c.Cache.BlobMax < 0 {
		bad("cache: sizes must not be negative")
	}
	if c.Policy.UnpublishWindow < 0 {
		bad("policy.unpublish_window: must not be negative")
	}
	for i, r := range c.Namespaces.Reserved {
		if eco, glob, ok := strings.Cut(r.Pattern, ":"); !ok || eco == "" || glob == "" {
			bad("namespaces.reserved[%d].pattern: %q is not ECOSYSTEM:NAME (e.g. go:github.com/acme/*)", i, r.Pattern)
		}
	}
	if n := c.Transparency.Name; n != "" && (strings.ContainsAny(n, "+ \t\n") || !utf8.ValidString(n)) {
		bad("transparency.name: %q must not contain spaces or '+'", n)
	}
	return errors.Join(errs...)
}

// EnvVars lists every environment variable Load reads, for help texts.
func EnvVars() []string {
	var out []string
	walk(reflect.ValueOf(&Config{}).Elem(), "TROVE", func(name string, _ reflect.Value) { out = append(out, name) })
	return out
}

func walk(v reflect.Value, prefix string, fn func(name string, field reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := prefix + "_" + strings.ToUpper(f.Tag.Get("toml"))
		if f.Type.Kind() == reflect.Slice {
			continue // lists are set in the configuration file only
		}
		if f.Type.Kind() == reflect.Struct {
			walk(v.Field(i), name, fn)
			continue
		}
		fn(name, v.Field(i))
	}
}

func applyEnv(c *Config, environ []string) error {
	env := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TROVE_") {
			env[k] = v
		}
	}
	var errs []error
	walk(reflect.ValueOf(c).Elem(), "TROVE", func(name string, field reflect.Value) {
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

// setField parses s into a field of one of the types Config uses.
func setField(field reflect.Value, s string) error {
	if u, ok := field.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		field.SetBool(b)
	default:
		return fmt.Errorf("unsupported setting type %s", field.Type())
	}
	return nil
}

// Duration is a time.Duration written as "72h", "30s" or "1h30m".
type Duration time.Duration

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 72h", b)
	}
	*d = Duration(v)
	return nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalText formats a duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

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

// MarshalText formats a size in bytes.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }
