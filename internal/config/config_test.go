package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.BaseURL != "http://127.0.0.1:8080" || c.Database.Path != filepath.Join("trove-data", "trove.db") {
		t.Errorf("Finish derived BaseURL %q and database path %q", c.BaseURL, c.Database.Path)
	}
}

func TestLoadFileThenEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte(`
data_dir = "/srv/trove"
listen = "0.0.0.0:9000"
shutdown_timeout = "5s"
[limits.upload_bytes]
npm = "10MiB"
pypi = 2048
[log]
format = "json"
`), 0o600)
	c, err := Load(path, []string{"TROVE_LISTEN=127.0.0.1:9001", "TROVE_LOG_REQUESTS=false", "TROVE_POLICY_UNPUBLISH_WINDOW=1h", "TROVE_DATA_DIR=", "OTHER=x",
		"TROVE_LIMITS_UPLOAD_BYTES_GO=1MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/trove" || c.Listen != "127.0.0.1:9001" || c.Log.Format != "json" || c.Log.Requests {
		t.Errorf("Load = %+v", c)
	}
	c.SetUploadLimits(map[string][2]ByteSize{"npm": {1 << 30, 0}, "pypi": {1 << 30, 0}, "go": {500 << 20, 500 << 20}, "cargo": {7 << 20, 0}})
	if u := c.Limits.UploadBytes; u["npm"] != 10<<20 || u["pypi"] != 2048 || u["go"] != 1<<20 || u["cargo"] != 7<<20 {
		t.Errorf("upload limits = %v, want the file's and the variable's, and the defaults for the others", u)
	}
	if time.Duration(c.ShutdownTimeout) != 5*time.Second || time.Duration(c.Policy.UnpublishWindow) != time.Hour {
		t.Errorf("durations = %v, %v", c.ShutdownTimeout, c.Policy.UnpublishWindow)
	}
}

func TestLoadRejectsUnknownKeysAndBadValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte("listen = \"x\"\nlisten_port = 3\n"), 0o600)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "listen_port") {
		t.Errorf("Load(unknown key) = %v, want an error naming listen_port", err)
	}
	if _, err := Load("", []string{"TROVE_LOG_REQUESTS=maybe", "TROVE_CACHE_MAX_BYTES=lots"}); err == nil ||
		!strings.Contains(err.Error(), "TROVE_LOG_REQUESTS") || !strings.Contains(err.Error(), "TROVE_CACHE_MAX_BYTES") {
		t.Errorf("Load(bad env) = %v, want both variables named", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Listen = "nope"
	c.BaseURL = "ftp://x"
	c.Log.Level = "loud"
	c.Database.Driver = "oracle"
	c.Storage.Backend = "tape"
	c.SetUploadLimits(map[string][2]ByteSize{"npm": {1 << 20, 0}, "go": {500 << 20, 500 << 20}})
	c.Limits.UploadBytes["go"] = 600 << 20
	c.Limits.UploadBytes["cargo"] = 1 << 20
	c.Limits.UploadBytes["npm"] = 10
	c.Transparency.Mirrors = []string{"https://mirror.example/log", "/srv/mirror"}
	c.Namespaces.Reserved = append(c.Namespaces.Reserved, Reservation{Pattern: "pypi:acme-*", Owners: []string{"alice"}, Org: "acme"})
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"listen", "base_url", "log.level", "database.driver", "storage.backend",
		"limits.upload_bytes.go: 600MiB is above 500MiB", "limits.upload_bytes.cargo: there is no ecosystem", "limits.upload_bytes.npm: 10 is below 1KiB",
		`transparency.mirrors: "/srv/mirror" is not an http:// or https:// URL`, "set owners or org, not both"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, does not mention %s", err, want)
		}
	}
}

func TestEnvVarsCoverEverySetting(t *testing.T) {
	vars := strings.Join(EnvVars(), " ")
	for _, want := range []string{"TROVE_DATA_DIR", "TROVE_BASE_URL", "TROVE_LOG_REQUESTS", "TROVE_DATABASE_PATH", "TROVE_STORAGE_DIR",
		"TROVE_LIMITS_UPLOAD_BYTES_<ECOSYSTEM>", "TROVE_CACHE_MAX_BYTES", "TROVE_ACCOUNTS_OPEN_REGISTRATION", "TROVE_POLICY_UNPUBLISH_WINDOW"} {
		if !strings.Contains(vars, want) {
			t.Errorf("EnvVars() lacks %s", want)
		}
	}
}

func TestLoadGuards(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte(`
[connections]
max = 1000
max_per_address = 50
min_body_rate = "8KiB"
trusted_proxies = ["10.0.0.0/8", "192.0.2.1"]
[rates]
publishes = "5/1s"
anonymous_writes = "0"
`), 0o600)
	c, err := Load(path, []string{"TROVE_RATES_LOGINS=3/1m", "TROVE_CONNECTIONS_MAX_PER_ADDRESS=40"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Connections.TrustedProxies.MarshalText(); string(got) != "10.0.0.0/8,192.0.2.1/32" {
		t.Errorf("trusted_proxies = %s", got)
	}
	if c.Connections.Max != 1000 || c.Connections.MaxPerAddress != 40 || c.Connections.MinBodyRate != 8<<10 {
		t.Errorf("connections = %+v", c.Connections)
	}
	if c.Rates.Publishes.String() != "5/1s" || c.Rates.Logins.String() != "3/1m0s" || c.Rates.AnonymousWrites.N != 0 {
		t.Errorf("rates = %+v", c.Rates)
	}
	c2, err := Load("", []string{"TROVE_CONNECTIONS_TRUSTED_PROXIES=127.0.0.1, ::1"})
	if err != nil || len(c2.Connections.TrustedProxies) != 2 {
		t.Errorf("TROVE_CONNECTIONS_TRUSTED_PROXIES: %v, %v", c2.Connections.TrustedProxies, err)
	}
	for env, want := range map[string]string{
		"TROVE_RATES_LOGINS=often":                 "TROVE_RATES_LOGINS",
		"TROVE_CONNECTIONS_MAX=many":               "TROVE_CONNECTIONS_MAX",
		"TROVE_CONNECTIONS_TRUSTED_PROXIES=proxy1": "TROVE_CONNECTIONS_TRUSTED_PROXIES",
	} {
		if _, err := Load("", []string{env}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want an error naming %s", env, err, want)
		}
	}
	c.Connections.MaxPerAddress = 5000
	c.Accounts.HashMemory = 1 << 20
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "max_per_address") || !strings.Contains(err.Error(), "hash_memory") {
		t.Errorf("Validate = %v, want max_per_address and hash_memory named", err)
	}
}

// TestDurations: every duration setting takes days as well as Go's units,
// and is written back in the units the documentation uses.
func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"90d", 90 * Day, "90d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"72h", 72 * time.Hour, "72h"},
		{"3d", 72 * time.Hour, "72h"},
		{"30s", 30 * time.Second, "30s"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"0d", 0, "0s"},
		{"7d", 7 * Day, "7d"},
		{" 14d ", 14 * Day, "14d"},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.in)); err != nil || d.Std() != tc.want {
			t.Errorf("Duration(%q) = %v, %v; want %v", tc.in, d.Std(), err, tc.want)
			continue
		}
		if got := d.String(); got != tc.out {
			t.Errorf("Duration(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(d.String())); err != nil || back != d {
			t.Errorf("Duration(%q) does not survive its own format %q: %v, %v", tc.in, d.String(), back, err)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1.5d", "90 days", "1d-1h", "soon", "99999999999999d", "-5s"} {
		var d Duration
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("Duration(%q) = %v, want an error", bad, d.Std())
		}
	}
	c, err := Load("", []string{"TROVE_POLICY_UNPUBLISH_WINDOW=2d", "TROVE_TOKENS_MAX_LIFETIME=30d", "TROVE_TOKENS_DEFAULT_LIFETIME=1d"})
	if err != nil || c.Policy.UnpublishWindow.Std() != 48*time.Hour || c.Tokens.MaxLifetime.Std() != 30*Day {
		t.Errorf("Load(days in variables) = %v, %v", c, err)
	}
}

func TestByteSizeFormat(t *testing.T) {
	for in, want := range map[ByteSize]string{128 << 20: "128MiB", 256 << 10: "256KiB", 1 << 30: "1GiB", 1536 << 20: "1536MiB", 1000: "1000", 0: "0", 1<<20 + 1: "1048577"} {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(in), got, want)
		}
		var back ByteSize
		if err := back.UnmarshalText([]byte(in.String())); err != nil || back != in {
			t.Errorf("ByteSize(%d) does not survive its own format: %v, %v", int64(in), back, err)
		}
	}
}

func TestTokenLifetimes(t *testing.T) {
	c := Default()
	c.Finish()
	if c.Tokens.DefaultLifetime.Std() != 90*Day || c.Tokens.MaxLifetime.Std() != 365*Day || c.Tokens.AllowNoExpiry {
		t.Errorf("default token lifetimes = %+v, want 90d, 365d, no tokens without expiry", c.Tokens)
	}
	c.Tokens.DefaultLifetime = Duration(400 * Day)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tokens.default_lifetime") {
		t.Errorf("Validate(default > max) = %v", err)
	}
	c.Tokens = Tokens{}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("Validate(zero lifetimes) = %v", err)
	}
}

// TestSecurityContact: security.txt's settings are checked, and an
// instance reachable from elsewhere must say whom to report to.
func TestSecurityContact(t *testing.T) {
	valid := func(c Config) Config {
		c.Security = Security{Contact: []string{"mailto:security@example.com", "https://example.com/report", "tel:+1-201-555-0123"},
			Expires: "2027-06-30T00:00:00Z", Policy: "https://example.com/policy", PreferredLanguages: "en, pt-BR"}
		return c
	}
	for _, tc := range []struct {
		name    string
		base    string
		sec     *Security // nil: valid()
		wantErr []string
	}{
		{"loopback without contact", "http://127.0.0.1:8080", &Security{}, nil},
		{"localhost without contact", "http://localhost:8080", &Security{}, nil},
		{"ipv6 loopback", "http://[::1]:8080", &Security{}, nil},
		{"public without contact", "https://packages.example.com", &Security{}, []string{"security.contact: required when base_url"}},
		{"all interfaces without contact", "http://0.0.0.0:8080", &Security{}, []string{"security.contact: required"}},
		{"public with contact", "https://packages.example.com", nil, nil},
		{"bare address", "http://127.0.0.1:8080", &Security{Contact: []string{"security@example.com"}, Expires: "2027-01-01T00:00:00Z"},
			[]string{`write "mailto:security@example.com"`}},
		{"http contact", "http://127.0.0.1:8080", &Security{Contact: []string{"http://example.com/r"}, Expires: "2027-01-01T00:00:00Z"}, []string{"must use https"}},
		{"no expiry", "http://127.0.0.1:8080", &Security{Contact: []string{"mailto:a@example.com"}}, []string{"security.expires: required"}},
		{"bad expiry", "http://127.0.0.1:8080", &Security{Contact: []string{"mailto:a@example.com"}, Expires: "next year"}, []string{"not an RFC 3339 time"}},
		{"bad policy and language", "http://127.0.0.1:8080", &Security{Contact: []string{"mailto:a@example.com"}, Expires: "2027-01-01T00:00:00Z",
			Policy: "ftp://x", PreferredLanguages: "en, english language"}, []string{"security.policy", "security.preferred_languages"}},
		{"fields without contact", "http://127.0.0.1:8080", &Security{Policy: "https://example.com/p"}, []string{"need a contact"}},
	} {
		c := valid(Default())
		c.BaseURL = tc.base
		if tc.sec != nil {
			c.Security = *tc.sec
		}
		c.Finish()
		err := c.Validate()
		if len(tc.wantErr) == 0 && err != nil {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		if len(tc.wantErr) > 0 && err == nil {
			t.Errorf("%s: Validate() = nil, want %q", tc.name, tc.wantErr)
		}
		for _, w := range tc.wantErr {
			if err != nil && !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v, want %q", tc.name, err, w)
			}
		}
	}
	c, err := Load("", []string{"TROVE_SECURITY_CONTACT=mailto:a@example.com, https://example.com/r", "TROVE_SECURITY_EXPIRES=2027-01-01T00:00:00Z"})
	if err != nil || len(c.Security.Contact) != 2 || c.Security.Contact[1] != "https://example.com/r" {
		t.Errorf("Load(TROVE_SECURITY_CONTACT list) = %q, %v", c.Security.Contact, err)
	}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for exp, want := range map[string]string{"2026-12-01T00:00:00Z": "has passed", "2027-01-20T00:00:00Z": "less than 30 days", "2029-01-01T00:00:00Z": "more than a year", "2027-06-01T00:00:00Z": ""} {
		c.Security.Expires = exp
		got := strings.Join(c.Warnings(now), "\n")
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Warnings(expires %s) = %q, want %q", exp, got, want)
		}
	}
}

func TestUpstreamValidate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trove.toml")
	if err := os.WriteFile(path, []byte(`
[upstream]
ttl = "10m"
[[upstream.sources.npm]]
name = "public"
url = "https://registry.example"
[[upstream.sources.npm]]
name = "public"
url = "https://user:pw@mirror.example"
[[upstream.sources.go]]
name = "proxy"
url = "https://proxy.example"
sumdb = "sum.example+f3c1c968+ATBKj8DMBHB3xusVQFKM6NwKRuoox1L7IkxSFd08tES8"
[[upstream.sources.go]]
name = "nosum"
url = "https://proxy2.example"
[[upstream.sources.go]]
name = "badkey"
url = "https://proxy3.example"
sumdb = "sum.example+0123abcd+AAAA"
[[upstream.sources.pypi]]
name = "idx"
url = "ftp://files.example"
sumdb = "x+y+z"
[[upstream.sources.cargo]]
name = "crates"
url = "https://crates.example"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetUploadLimits(map[string][2]ByteSize{"npm": {1 << 20, 0}, "pypi": {1 << 20, 0}, "go": {1 << 20, 0}})
	c.Finish()
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate accepted duplicate names, credentials in a URL, an ftp URL, a sumdb for pypi and an unknown ecosystem")
	}
	for _, want := range []string{
		`upstream.sources.npm[1].name: "public" is used twice`,
		`upstream.sources.npm[1].url: "https://user:xxxxx@mirror.example" holds credentials`,
		`upstream.sources.pypi[0].url: "ftp://files.example" is not an http:// or https:// URL`,
		`upstream.sources.pypi[0]: sumdb and sumdb_url are for go upstreams only`,
		`upstream.sources.cargo: there is no ecosystem "cargo"`,
		`upstream.sources.go[1].sumdb: a go upstream needs its checksum database's key`,
		`upstream.sources.go[2].sumdb: "sum.example+0123abcd+AAAA" is not a checksum database key`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "upstream.sources.go[0]") {
		t.Errorf("Validate = %v: it shows a password or refuses the valid go source", err)
	}
	if c.Upstream.TTL != Duration(10*time.Minute) || c.Upstream.Timeout != Duration(30*time.Second) {
		t.Errorf("upstream durations = %v, %v", c.Upstream.TTL, c.Upstream.Timeout)
	}
}

func TestMailSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		want string
	}{
		{"none to a remote host", func(c *Config) { c.Mail.Host, c.Mail.From, c.Mail.TLS = "smtp.example.com", "t@example.com", "none" }, "allowed only to a loopback host"},
		{"unknown tls", func(c *Config) { c.Mail.TLS = "maybe" }, "mail.tls"},
		{"no from", func(c *Config) { c.Mail.Host = "smtp.example.com" }, "mail.from"},
		{"user without password file", func(c *Config) {
			c.Mail.Host, c.Mail.From, c.Mail.Username = "smtp.example.com", "t@example.com", "trove"
		}, "password_file"},
		{"unknown signup", func(c *Config) { c.Accounts.Signup = "sometimes" }, "accounts.signup"},
		{"contradicting signup", func(c *Config) { c.Accounts.Signup, c.Accounts.OpenRegistration = "closed", true }, "contradicts"},
	} {
		c := Default()
		tc.set(&c)
		c.Finish()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	c := Default()
	c.Mail.Host, c.Mail.From, c.Mail.TLS = "127.0.0.1", "Trove <t@localhost>", "none"
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Errorf("tls none to loopback: %v", err)
	}
	if got := c.Accounts.SignupMode(); got != SignupClosed {
		t.Errorf("default signup = %q", got)
	}
	c.Accounts.OpenRegistration = true
	if c.Accounts.SignupMode() != SignupOpen || !slices.ContainsFunc(c.Warnings(time.Now()), func(w string) bool { return strings.Contains(w, "deprecated") }) {
		t.Error("open_registration does not map to signup open with a deprecation warning")
	}
}

func TestMailPasswordIsNeverInline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trove.toml")
	os.WriteFile(path, []byte("[mail]\npassword = \"hunter2\"\n"), 0o600)
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "mail.password_file") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Load = %v, want a refusal pointing at mail.password_file without the secret", err)
	}
}

func TestWebSessionSettings(t *testing.T) {
	for env, want := range map[string]string{
		"TROVE_WEB_SESSION_IDLE=13h": "web.session_idle",
		"TROVE_WEB_SUDO=0s":          "web: session_lifetime, session_idle and sudo must be positive",
	} {
		c, err := Load("", []string{env})
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", env, err, want)
		}
	}
	c, err := Load("", []string{"TROVE_WEB_SESSION_LIFETIME=8h", "TROVE_WEB_SESSION_IDLE=30m"})
	if err != nil || c.Web.SessionLifetime.Std() != 8*time.Hour || c.Web.SessionIdle.Std() != 30*time.Minute || c.Web.Sudo.Std() != 10*time.Minute {
		t.Errorf("web settings: %+v, %v", c.Web, err)
	}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "web") {
		t.Errorf("valid web settings refused: %v", err)
	}
}

// TestBurst: the worm guard is on by default, set by file or variable,
// off at 0, and refuses values that make no sense.
func TestBurst(t *testing.T) {
	if d := Default(); d.Policy.BurstPackages != 5 || d.Policy.BurstWindow.Std() != 10*time.Minute {
		t.Errorf("default burst = %d in %v, want 5 in 10m", d.Policy.BurstPackages, d.Policy.BurstWindow)
	}
	c, err := Load("", []string{"TROVE_POLICY_BURST_PACKAGES=20", "TROVE_POLICY_BURST_WINDOW=1h"})
	if err != nil || c.Policy.BurstPackages != 20 || c.Policy.BurstWindow.Std() != time.Hour {
		t.Errorf("Load(burst variables) = %d in %v, %v", c.Policy.BurstPackages, c.Policy.BurstWindow, err)
	}
	off := Default()
	off.Finish()
	off.Policy.BurstPackages, off.Policy.BurstWindow = 0, 0
	if err := off.Validate(); err != nil {
		t.Errorf("the guard turned off: Validate() = %v", err)
	}
	for _, tc := range []struct {
		packages int
		window   time.Duration
		want     string
	}{
		{-1, 10 * time.Minute, "policy.burst_packages: must not be negative"},
		{5, 0, "policy.burst_window: must be positive"},
	} {
		c := Default()
		c.Finish()
		c.Policy.BurstPackages, c.Policy.BurstWindow = tc.packages, Duration(tc.window)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(burst %d in %v) = %v, want %q", tc.packages, tc.window, err, tc.want)
		}
	}
}

// TestInactiveAfter: the inactivity review is on by default (a year),
// set by file or variable, off at 0, and refuses a negative threshold or
// one under a day.
func TestInactiveAfter(t *testing.T) {
	if d := Default(); d.Policy.InactiveAfter.Std() != 365*Day {
		t.Errorf("default inactive_after = %v, want 365 days", d.Policy.InactiveAfter)
	}
	c, err := Load("", []string{"TROVE_POLICY_INACTIVE_AFTER=180d"})
	if err != nil || c.Policy.InactiveAfter.Std() != 180*Day {
		t.Errorf("Load(TROVE_POLICY_INACTIVE_AFTER=180d) = %v, %v", c.Policy.InactiveAfter, err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  string // "" for valid
	}{
		{0, ""},
		{Day, ""},
		{-Day, "policy.inactive_after: must not be negative"},
		{time.Hour, "policy.inactive_after: 1h0m0s is less than a day"},
	} {
		c := Default()
		c.Finish()
		c.Policy.InactiveAfter = Duration(tc.after)
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(inactive_after %v) = %v, want %q", tc.after, err, tc.want)
		}
	}
}

// TestTrustedPublishingNeedsBaseURL: with issuers configured, a base URL
// derived from the listen address is refused (the audiences CI jobs ask
// for name the server as they call it); an explicit one is accepted.
func TestTrustedPublishingNeedsBaseURL(t *testing.T) {
	issuers := []Issuer{{Name: "github", Kind: "github", URL: "https://token.actions.example"}}
	for _, tc := range []struct {
		name    string
		base    string
		issuers []Issuer
		wantErr string
	}{
		{"no issuers, derived", "", nil, ""},
		{"issuers, derived", "", issuers, "trusted_publishing: issuers need base_url"},
		{"issuers, explicit", "http://127.0.0.1:8080", issuers, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.BaseURL = tc.base
			c.TrustedPublishing.Issuers = tc.issuers
			c.Finish()
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestSecretScanning: the endpoint is off by default; its key list URL
// must be https (http only to this machine); keys are inline PEM or files.
func TestSecretScanning(t *testing.T) {
	c := Default()
	c.Finish()
	if c.SecretScanning.Enabled() {
		t.Error("secret scanning is enabled by default")
	}
	for _, tc := range []struct {
		s    SecretScanning
		want string // "" for valid
	}{
		{SecretScanning{KeysURL: "https://keys.example/secret_scanning"}, ""},
		{SecretScanning{KeysURL: "http://127.0.0.1:9000/keys"}, ""},
		{SecretScanning{KeysURL: "http://keys.example/keys"}, "secret_scanning.keys_url: \"http://keys.example/keys\" must be https"},
		{SecretScanning{KeysURL: "keys"}, "is not a URL"},
		{SecretScanning{Keys: map[string]string{"k1": ""}}, "secret_scanning.keys: key \"k1\" needs"},
	} {
		c := Default()
		c.SecretScanning = tc.s
		c.Finish()
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.s, err, tc.want)
		}
	}
	dir := t.TempDir()
	pemText := "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	if err := os.WriteFile(filepath.Join(dir, "k.pem"), []byte(pemText), 0o644); err != nil {
		t.Fatal(err)
	}
	s := SecretScanning{Keys: map[string]string{"inline": pemText, "file": filepath.Join(dir, "k.pem")}}
	got, err := s.PEMKeys()
	if err != nil || got["inline"] != strings.TrimSpace(pemText) || got["file"] != pemText {
		t.Errorf("PEMKeys = %q, %v", got, err)
	}
	s.Keys["missing"] = filepath.Join(dir, "nope.pem")
	if _, err := s.PEMKeys(); err == nil || !strings.Contains(err.Error(), "secret_scanning.keys.missing") {
		t.Errorf("PEMKeys with a missing file = %v, want an error naming the key", err)
	}
}

// TestScanClamd: the clamd address is off by default, read from the file
// or TROVE_SCAN_CLAMD, and checked.
func TestScanClamd(t *testing.T) {
	for _, tc := range []struct{ addr, wantErr string }{
		{"", ""},
		{"unix:/run/clamav/clamd.ctl", ""},
		{"tcp:127.0.0.1:3310", ""},
		{"/run/clamav/clamd.ctl", `scan.clamd: "/run/clamav/clamd.ctl": want unix:/path/to/clamd.ctl or tcp:host:port`},
		{"tcp:localhost", "scan.clamd"},
		{"unix:", "scan.clamd"},
	} {
		c, err := Load("", []string{"TROVE_SCAN_CLAMD=" + tc.addr})
		if err != nil {
			t.Fatal(err)
		}
		if c.Scan.Clamd != tc.addr {
			t.Errorf("TROVE_SCAN_CLAMD=%q: Scan.Clamd = %q", tc.addr, c.Scan.Clamd)
		}
		err = errors.Join(c.Scan.validate()...)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(clamd %q) = %v, want %q", tc.addr, err, tc.wantErr)
		}
	}
}

// TestScanSecrets: credentials found in uploads reject by default; the
// file or the environment can make them hold; anything else is refused.
func TestScanSecrets(t *testing.T) {
	c := Default()
	c.Finish()
	if c.Scan.Secrets != "reject" || c.Validate() != nil {
		t.Fatalf("default scan.secrets = %q, %v", c.Scan.Secrets, c.Validate())
	}
	path := filepath.Join(t.TempDir(), "trove.toml")
	if err := os.WriteFile(path, []byte("[scan]\nsecrets = \"hold\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil || c.Scan.Secrets != "hold" {
		t.Fatalf("Load: scan.secrets = %q, %v", c.Scan.Secrets, err)
	}
	c, err = Load("", []string{"TROVE_SCAN_SECRETS=hold"})
	if err != nil || c.Scan.Secrets != "hold" {
		t.Fatalf("TROVE_SCAN_SECRETS: scan.secrets = %q, %v", c.Scan.Secrets, err)
	}
	for _, bad := range []string{"", "publish", "Reject"} {
		c := Default()
		c.Scan.Secrets = bad
		c.Finish()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `scan.secrets: "`+bad+`" is not a choice`) {
			t.Errorf("scan.secrets = %q: Validate = %v", bad, err)
		}
	}
}

// TestScanChanges: the comparison with the previous release has defaults,
// is set by file or variable, and refuses thresholds that make no sense.
func TestScanChanges(t *testing.T) {
	if d := Default(); d.ScanChanges != DefaultScanChanges || d.ScanChanges.SizeFactor != 10 || d.ScanChanges.YoungDependency.Std() != 7*24*time.Hour {
		t.Errorf("default = %+v", d.ScanChanges)
	}
	c, err := Load("", []string{"TROVE_SCAN_CHANGES_SIZE_FACTOR=20", "TROVE_SCAN_CHANGES_SIZE_FLOOR=1MiB",
		"TROVE_SCAN_CHANGES_YOUNG_DEPENDENCY=2d", "TROVE_SCAN_CHANGES_NEW_MAINTAINER=0", "TROVE_SCAN_CHANGES_MISSING_DEPENDENCY=false",
		"TROVE_SCAN_CHANGES_OBFUSCATED_FLOOR=64KiB"})
	want := ScanChanges{SizeFactor: 20, SizeFloor: 1 << 20, YoungDependency: Duration(2 * Day), ObfuscatedFloor: 64 << 10}
	if err != nil || c.ScanChanges != want {
		t.Errorf("Load(variables) = %+v, %v; want %+v", c.ScanChanges, err, want)
	}
	for _, tc := range []struct {
		mod  func(*ScanChanges)
		want string
	}{
		{func(s *ScanChanges) { s.YoungDependency = -1 }, "must not be negative"},
		{func(s *ScanChanges) { s.ObfuscatedFloor = -1 }, "obfuscated_floor must not be negative"},
		{func(s *ScanChanges) { s.SizeFactor = 1 }, "scan_changes.size_factor: 1 would hold every release"},
	} {
		c := Default()
		c.Finish()
		tc.mod(&c.ScanChanges)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.ScanChanges, err, tc.want)
		}
	}
}

// TestPopularNames: the check of popular names is on by default; a file
// and the environment set its lists and allowed names, or turn it off.
func TestPopularNames(t *testing.T) {
	if p := Default().Namespaces.Popular; !p.Enabled || p.Files != nil || p.Allow != nil {
		t.Errorf("default namespaces.popular = %+v, want enabled with the built-in lists", p)
	}
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte(`
[namespaces.popular]
allow = ["npm:reactx"]
[namespaces.popular.files]
npm = "/etc/trove/popular-npm.txt"
`), 0o600)
	c, err := Load(path, []string{"TROVE_NAMESPACES_POPULAR_FILES_PYPI=/etc/trove/popular-pypi.txt"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Namespaces.Popular
	if !p.Enabled || p.Files["npm"] != "/etc/trove/popular-npm.txt" || p.Files["pypi"] != "/etc/trove/popular-pypi.txt" || !slices.Equal(p.Allow, []string{"npm:reactx"}) {
		t.Errorf("namespaces.popular = %+v, want the file's and the variable's", p)
	}
	c, err = Load(path, []string{"TROVE_NAMESPACES_POPULAR_ENABLED=false", "TROVE_NAMESPACES_POPULAR_ALLOW=npm:reactx, pypi:acme-*"})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Namespaces.Popular; p.Enabled || !slices.Equal(p.Allow, []string{"npm:reactx", "pypi:acme-*"}) {
		t.Errorf("namespaces.popular = %+v, want it off and the variable's allowed names", p)
	}
	if _, err := Load("", []string{"TROVE_NAMESPACES_POPULAR_ENABLED=sometimes"}); err == nil || !strings.Contains(err.Error(), "TROVE_NAMESPACES_POPULAR_ENABLED") {
		t.Errorf("Load(TROVE_NAMESPACES_POPULAR_ENABLED=sometimes) = %v, want an error naming it", err)
	}
	vars := strings.Join(EnvVars(), " ")
	for _, want := range []string{"TROVE_NAMESPACES_POPULAR_ENABLED", "TROVE_NAMESPACES_POPULAR_FILES_<ECOSYSTEM>", "TROVE_NAMESPACES_POPULAR_ALLOW"} {
		if !strings.Contains(vars, want) {
			t.Errorf("EnvVars() lacks %s", want)
		}
	}

	c = Default()
	c.SetUploadLimits(map[string][2]ByteSize{"npm": {1 << 20, 0}, "pypi": {1 << 20, 0}, "go": {500 << 20, 500 << 20}})
	c.Namespaces.Popular.Files = map[string]string{"cargo": "/x", "npm": " "}
	c.Namespaces.Popular.Allow = []string{"npm:ok", "reactx", "npm:"}
	err = c.Validate()
	for _, want := range []string{`namespaces.popular.files.cargo: there is no ecosystem "cargo"`, "namespaces.popular.files.npm: empty",
		`namespaces.popular.allow[1]: "reactx" is not ECOSYSTEM:NAME`, `namespaces.popular.allow[2]: "npm:" is not ECOSYSTEM:NAME`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "allow[0]") {
		t.Errorf("Validate() = %v, refuses npm:ok", err)
	}
}
