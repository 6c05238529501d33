package config

import (
	"os"
	"path/filepath"
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
[limits]
npm_publish_bytes = "10MiB"
pypi_upload_bytes = 2048
go_zip_bytes = "1MiB"
[log]
format = "json"
`), 0o600)
	c, err := Load(path, []string{"TROVE_LISTEN=127.0.0.1:9001", "TROVE_LOG_REQUESTS=false", "TROVE_POLICY_UNPUBLISH_WINDOW=1h", "OTHER=x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/trove" || c.Listen != "127.0.0.1:9001" || c.Log.Format != "json" || c.Log.Requests {
		t.Errorf("Load = %+v", c)
	}
	if c.Limits.NPMPublishBytes != 10<<20 || c.Limits.PyPIUploadBytes != 2048 || c.Limits.GoZipBytes != 1<<20 {
		t.Errorf("limits = %+v", c.Limits)
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
	c.Limits.GoZipBytes = 600 << 20
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"listen", "base_url", "log.level", "database.driver", "storage.backend", "limits.go_zip_bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, does not mention %s", err, want)
		}
	}
}

func TestEnvVarsCoverEverySetting(t *testing.T) {
	vars := strings.Join(EnvVars(), " ")
	for _, want := range []string{"TROVE_DATA_DIR", "TROVE_BASE_URL", "TROVE_LOG_REQUESTS", "TROVE_DATABASE_PATH", "TROVE_STORAGE_DIR",
		"TROVE_LIMITS_NPM_PUBLISH_BYTES", "TROVE_LIMITS_GO_ZIP_BYTES", "TROVE_CACHE_MAX_BYTES", "TROVE_ACCOUNTS_OPEN_REGISTRATION", "TROVE_POLICY_UNPUBLISH_WINDOW"} {
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
