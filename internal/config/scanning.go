package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Scan configures the scanners every upload passes (docs/scanning.md).
type Scan struct {
	// Secrets is what becomes of an upload holding another service's
	// credential (a cloud key, a provider's API token): "reject" (the
	// default) or "hold" for review. Heuristic matches and findings in
	// test files are held either way.
	Secrets string `toml:"secrets"`
	// Clamd is the address of a ClamAV daemon every uploaded and
	// imported file is sent to: "unix:/run/clamav/clamd.ctl" (its
	// LocalSocket) or "tcp:127.0.0.1:3310" (its TCPSocket). Empty: no
	// ClamAV scan. Its StreamMaxLength must exceed the largest upload.
	Clamd string `toml:"clamd"`
	// InlineTimeout bounds the inline scanners' work in an upload request
	// (default 10s); an upload they do not finish is held until the scan
	// job has scanned it.
	InlineTimeout Duration `toml:"inline_timeout"`
	// SlowWait is how long an upload request waits for the slow scanners
	// (ClamAV; default 2s) before the release is held for the scan job.
	SlowWait Duration `toml:"slow_wait"`
}

// validate reports the problems of the scan settings.
func (s *Scan) validate() []error {
	var errs []error
	switch s.Secrets {
	case "reject", "hold":
	default:
		errs = append(errs, fmt.Errorf(`scan.secrets: %q is not a choice: "reject" refuses uploads holding credentials, "hold" keeps them for review`, s.Secrets))
	}
	if s.InlineTimeout < 0 || s.SlowWait < 0 {
		errs = append(errs, errors.New("scan.inline_timeout and scan.slow_wait: must not be negative (0 is the default)"))
	}
	if s.Clamd == "" {
		return errs
	}
	network, addr, _ := strings.Cut(s.Clamd, ":")
	switch {
	case network == "unix" && addr != "":
		return errs
	case network == "tcp":
		if _, _, err := net.SplitHostPort(addr); err == nil {
			return errs
		}
	}
	return append(errs, fmt.Errorf("scan.clamd: %q: want unix:/path/to/clamd.ctl or tcp:host:port", s.Clamd))
}

// SecretScanning configures the endpoint secret scanners report exposed
// Trove tokens to (POST /api/v1/secret-scanning/github, in GitHub's
// secret scanning partner format; docs/accounts.md). Without keys and
// keys_url the endpoint answers 404.
type SecretScanning struct {
	// Keys are the scanner's verification keys by key identifier: each
	// a PEM public key (ECDSA P-256), written inline or as the path of a
	// file holding it.
	Keys map[string]string `toml:"keys"`
	// KeysURL, when set, serves the scanner's current key list
	// ({"public_keys": [{"key_identifier", "key"}]}); it is fetched
	// when a report is signed by a key not in Keys, and cached for 30
	// minutes. It must be https (http only to a loopback host).
	KeysURL string `toml:"keys_url"`
}

// Enabled reports whether reports are accepted.
func (s *SecretScanning) Enabled() bool { return len(s.Keys) > 0 || s.KeysURL != "" }

// PEMKeys returns the keys as PEM text, reading those given as paths.
func (s *SecretScanning) PEMKeys() (map[string]string, error) {
	out := make(map[string]string, len(s.Keys))
	for _, id := range slices.Sorted(maps.Keys(s.Keys)) {
		v := strings.TrimSpace(s.Keys[id])
		if !strings.HasPrefix(v, "-----BEGIN") {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("secret_scanning.keys.%s: %w", id, err)
			}
			v = string(b)
		}
		out[id] = v
	}
	return out, nil
}

// validate reports the problems of the secret scanning settings.
func (s *SecretScanning) validate() []error {
	var errs []error
	for id := range s.Keys {
		if strings.TrimSpace(id) == "" || strings.TrimSpace(s.Keys[id]) == "" {
			errs = append(errs, fmt.Errorf("secret_scanning.keys: key %q needs an identifier and a PEM public key (or the path of a file holding one)", id))
		}
	}
	if s.KeysURL != "" {
		u, err := url.Parse(s.KeysURL)
		switch {
		case err != nil || u.Host == "":
			errs = append(errs, fmt.Errorf("secret_scanning.keys_url: %q is not a URL", s.KeysURL))
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		default:
			errs = append(errs, fmt.Errorf("secret_scanning.keys_url: %q must be https (http only to a loopback host): the keys decide which reports revoke tokens", s.KeysURL))
		}
	}
	return errs
}

// isLoopback reports whether host names this machine: the one place plain
// http is allowed for URLs whose answers decide who may do what.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
