package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSSettings: the mode follows the settings, the base URL defaults
// to https with TLS, and every wrong combination is reported.
func TestTLSSettings(t *testing.T) {
	ok := []struct {
		name    string
		env     []string
		mode    string
		baseURL string
	}{
		{"default", nil, TLSOff, "http://127.0.0.1:8080"},
		{"files implied", []string{"TROVE_TLS_CERT_FILE=/c.pem", "TROVE_TLS_KEY_FILE=/k.pem"}, TLSFiles, "https://127.0.0.1:8080"},
		{"self-signed", []string{"TROVE_TLS_MODE=self-signed"}, TLSSelfSigned, "https://127.0.0.1:8080"},
		{"acme on 443", []string{"TROVE_TLS_MODE=acme", "TROVE_LISTEN=0.0.0.0:443", "TROVE_TLS_ACME_DIRECTORY_URL=https://acme.example.test/dir",
			"TROVE_TLS_ACME_DOMAINS=registry.example.test,pkg.example.test", "TROVE_SECURITY_CONTACT=mailto:s@example.test", "TROVE_SECURITY_EXPIRES=2099-01-01T00:00:00Z"},
			TLSACME, "https://registry.example.test"},
		{"acme on another port", []string{"TROVE_TLS_MODE=acme", "TROVE_LISTEN=127.0.0.1:8443", "TROVE_TLS_ACME_DIRECTORY_URL=https://acme.example.test/dir",
			"TROVE_TLS_ACME_DOMAINS=registry.example.test", "TROVE_SECURITY_CONTACT=mailto:s@example.test", "TROVE_SECURITY_EXPIRES=2099-01-01T00:00:00Z"},
			TLSACME, "https://registry.example.test:8443"},
		{"proxy in front", []string{"TROVE_BASE_URL=https://registry.example.test", "TROVE_SECURITY_CONTACT=mailto:s@example.test", "TROVE_SECURITY_EXPIRES=2099-01-01T00:00:00Z"},
			TLSOff, "https://registry.example.test"},
		{"proxy in front, listening on all addresses", []string{"TROVE_LISTEN=0.0.0.0:8080", "TROVE_CONNECTIONS_TRUSTED_PROXIES=192.0.2.10",
			"TROVE_BASE_URL=https://registry.example.test", "TROVE_SECURITY_CONTACT=mailto:s@example.test", "TROVE_SECURITY_EXPIRES=2099-01-01T00:00:00Z"},
			TLSOff, "https://registry.example.test"},
		{"plain HTTP elsewhere, accepted", []string{"TROVE_LISTEN=192.0.2.1:8080", "TROVE_TLS_ALLOW_PLAIN_HTTP=true",
			"TROVE_SECURITY_CONTACT=mailto:s@example.test", "TROVE_SECURITY_EXPIRES=2099-01-01T00:00:00Z"},
			TLSOff, "http://192.0.2.1:8080"},
	}
	for _, tt := range ok {
		c, err := Load("", tt.env)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c.Finish()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
		if c.TLSMode() != tt.mode || c.BaseURL != tt.baseURL {
			t.Errorf("%s: mode %q, base URL %q; want %q, %q", tt.name, c.TLSMode(), c.BaseURL, tt.mode, tt.baseURL)
		}
	}

	bad := []struct {
		name string
		env  []string
		want []string
	}{
		{"unknown mode", []string{"TROVE_TLS_MODE=on"}, []string{`tls.mode: "on"`}},
		{"plain HTTP on all addresses", []string{"TROVE_LISTEN=0.0.0.0:8080"}, []string{`listen: "0.0.0.0:8080" is reachable from other machines, but TLS is off`, "tls.allow_plain_http"}},
		{"plain HTTP on all addresses, short form", []string{"TROVE_LISTEN=:8080"}, []string{"reachable from other machines"}},
		{"files without key", []string{"TROVE_TLS_MODE=files", "TROVE_TLS_CERT_FILE=/c.pem"}, []string{"needs both cert_file and key_file"}},
		{"files with another mode", []string{"TROVE_TLS_MODE=self-signed", "TROVE_TLS_CERT_FILE=/c.pem"}, []string{"cert_file and key_file are for mode"}},
		{"http base URL with TLS", []string{"TROVE_TLS_MODE=self-signed", "TROVE_BASE_URL=http://127.0.0.1:8080"}, []string{"starts with http://"}},
		{"negative HSTS", []string{"TROVE_TLS_HSTS_MAX_AGE=-1s"}, []string{"TROVE_TLS_HSTS_MAX_AGE"}},
		{"acme missing everything", []string{"TROVE_TLS_MODE=acme"}, []string{"tls.acme.directory_url", "tls.acme.domains: required"}},
		{"acme bad values", []string{"TROVE_TLS_MODE=acme", "TROVE_TLS_ACME_DIRECTORY_URL=http://acme.example.test/dir",
			"TROVE_TLS_ACME_DOMAINS=192.0.2.1,localhost,*.example.test", "TROVE_TLS_ACME_EMAIL=nobody"},
			[]string{"tls.acme.directory_url", `"192.0.2.1" is not`, `"localhost" is not`, `"*.example.test" is not`, "tls.acme.email"}},
		{"acme settings without acme", []string{"TROVE_TLS_ACME_DOMAINS=registry.example.test"}, []string{"tls.acme: set, but tls.mode is \"off\""}},
	}
	for _, tt := range bad {
		c, err := Load("", tt.env)
		if err == nil {
			c.Finish()
			err = c.Validate()
		}
		if err == nil {
			t.Errorf("%s: valid, want errors %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

func TestTLSFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.toml")
	os.WriteFile(path, []byte(`
[tls]
mode = "acme"
hsts_max_age = "0s"
[tls.acme]
directory_url = "https://acme.example.test/dir"
email = "ops@example.test"
domains = ["registry.example.test"]
ca_file = "/etc/trove/acme-ca.pem"
`), 0o600)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.DataDir = "/srv/trove"
	c.Finish()
	if c.HSTS() != 0 || c.TLS.ACME.CacheDir != filepath.Join("/srv/trove", "tls", "acme") || c.TLS.ACME.CAFile != "/etc/trove/acme-ca.pem" {
		t.Errorf("tls = %+v", c.TLS)
	}
	if d := Default(); d.HSTS() != DefaultHSTSMaxAge {
		t.Errorf("default HSTS max-age = %s", d.HSTS())
	}
}
