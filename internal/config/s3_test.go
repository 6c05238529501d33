package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestS3FromFileAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte(`
[storage]
backend = "s3"
[storage.s3]
endpoint = "https://s3.example.test"
bucket = "packages"
prefix = "trove/"
access_key_file = "/run/secrets/s3-access"
secret_key_file = "/run/secrets/s3-secret"
redirect = true
`), 0o600)
	c, err := Load(path, []string{"TROVE_STORAGE_S3_REDIRECT_TTL=2m", "TROVE_STORAGE_S3_PATH_STYLE=true"})
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = "https://trove.example.test"
	c.Security = Security{Contact: []string{"mailto:security@example.test"}, Expires: time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339)}
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s := c.Storage.S3
	if s.Endpoint != "https://s3.example.test" || s.Bucket != "packages" || s.Prefix != "trove/" || !s.PathStyle || !s.Redirect ||
		s.RedirectTTL.Std() != 2*time.Minute || s.Region != "us-east-1" || s.Timeout.Std() != 30*time.Second {
		t.Errorf("storage.s3 = %+v", s)
	}
}

func TestS3Validation(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Storage.Backend = "s3"
		c.Storage.S3.Endpoint = "http://localhost:9000"
		c.Storage.S3.Bucket = "trove"
		c.Storage.S3.PathStyle = true
		c.Finish()
		return c
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("valid s3 configuration: %v", c.Validate())
	}
	if c := valid(); func() error { c.Storage.S3.Redirect = true; return c.Validate() }() != nil {
		t.Fatalf("redirects from 127.0.0.1 to localhost on one machine: %v", c.Validate())
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no endpoint", func(c *Config) { c.Storage.S3.Endpoint = "" }, "storage.s3.endpoint: required"},
		{"http elsewhere", func(c *Config) { c.Storage.S3.Endpoint = "http://s3.example.test" }, "plain http is only allowed to a loopback address"},
		{"endpoint with path", func(c *Config) { c.Storage.S3.Endpoint = "https://s3.example.test/bucket" }, "want only a scheme, a host and a port"},
		{"endpoint scheme", func(c *Config) { c.Storage.S3.Endpoint = "s3://x" }, "want https://host"},
		{"no bucket", func(c *Config) { c.Storage.S3.Bucket = "" }, "storage.s3.bucket"},
		{"bad bucket", func(c *Config) { c.Storage.S3.Bucket = "Has_Upper" }, "storage.s3.bucket"},
		{"bad prefix", func(c *Config) { c.Storage.S3.Prefix = "/abs" }, "storage.s3.prefix"},
		{"dotdot prefix", func(c *Config) { c.Storage.S3.Prefix = "a/../" }, "storage.s3.prefix"},
		{"one key file", func(c *Config) { c.Storage.S3.SecretKeyFile = "/run/s" }, "set both access_key_file and secret_key_file"},
		{"timeout", func(c *Config) { c.Storage.S3.Timeout = 0 }, "storage.s3.timeout"},
		{"ttl", func(c *Config) { c.Storage.S3.Redirect, c.Storage.S3.RedirectTTL = true, Duration(24*time.Hour) }, "storage.s3.redirect_ttl"},
		{"https to http redirect", func(c *Config) {
			c.Storage.S3.Redirect, c.BaseURL = true, "https://localhost:8443"
		}, "refuses a redirect from https to http"},
		{"loopback redirect for remote clients", func(c *Config) {
			c.Storage.S3.Redirect, c.BaseURL = true, "http://trove.example.test"
		}, "clients of http://trove.example.test cannot reach"},
		{"redirect to the same host", func(c *Config) {
			c.Storage.S3.Redirect, c.Storage.S3.Endpoint = true, "http://127.0.0.1:9000"
		}, "send their Trove credentials along such a redirect"},
		{"redirect to a subdomain", func(c *Config) {
			c.Storage.S3.Redirect, c.Storage.S3.Endpoint, c.BaseURL = true, "https://s3.example.test", "https://example.test"
			c.Security = Security{Contact: []string{"mailto:security@example.test"}, Expires: time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339)}
		}, "redirected to s3.example.test"},
		{"virtual-host redirect under base_url", func(c *Config) {
			c.Storage.S3.Redirect, c.Storage.S3.PathStyle, c.Storage.S3.Endpoint, c.BaseURL = true, false, "https://example.test", "https://trove.example.test"
			c.Storage.S3.Bucket = "trove"
			c.Security = Security{Contact: []string{"mailto:security@example.test"}, Expires: time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339)}
		}, "redirected to trove.example.test"},
		{"blob too large", func(c *Config) {
			c.SetUploadLimits(map[string][2]ByteSize{"pypi": {1 << 30, 0}})
			c.Limits.UploadBytes["pypi"] = 6 << 30
		}, "limits.upload_bytes.pypi: 6GiB is above 5GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Keys are never inline: a key written in the file is an unknown setting.
func TestS3KeysNeverInline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte("[storage.s3]\nsecret_key = \"hunter2\"\n"), 0o600)
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "storage.s3.secret_key") {
		t.Fatalf("Load = %v, want storage.s3.secret_key refused", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "secret_key_file") {
		t.Errorf("the error does not point to secret_key_file: %v", err)
	}
}
