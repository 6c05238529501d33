package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// S3 configures the s3 storage backend (storage.backend = "s3"): blobs in
// a bucket of an S3-compatible object store. See docs/s3.md.
type S3 struct {
	// Endpoint is the server's URL: https://host[:port]. Plain http is
	// accepted only to a loopback address.
	Endpoint string `toml:"endpoint"`
	// Bucket must exist; Trove never creates it. At start Trove checks
	// that it can write, read and delete in it.
	Bucket string `toml:"bucket"`
	Region string `toml:"region"`
	// Prefix starts every key, so that several Troves can share a bucket:
	// "" or segments ending in '/', like "trove/".
	Prefix string `toml:"prefix"`
	// PathStyle puts the bucket in the path (host/bucket/key) rather than
	// the host name (bucket.host/key); most self-hosted servers need it.
	PathStyle bool `toml:"path_style"`
	// AccessKeyFile and SecretKeyFile hold the access key; without them
	// the standard AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables
	// (and AWS_SESSION_TOKEN) are used. Keys are never written inline.
	AccessKeyFile string `toml:"access_key_file"`
	SecretKeyFile string `toml:"secret_key_file"`
	// Timeout bounds each call to the server, and how long a transfer
	// may make no progress.
	Timeout Duration `toml:"timeout"`
	// Redirect answers file downloads with a redirect to a presigned URL
	// valid for RedirectTTL, so that the bytes go from the bucket straight
	// to the client. Off by default.
	Redirect    bool     `toml:"redirect"`
	RedirectTTL Duration `toml:"redirect_ttl"`
}

// DefaultS3 are the defaults of the [storage.s3] table.
var DefaultS3 = S3{Region: "us-east-1", Timeout: Duration(30 * time.Second), RedirectTTL: Duration(5 * time.Minute)}

// Limits of the s3 backend's settings.
const (
	// MaxS3Blob is the largest blob the s3 backend stores (one PUT).
	MaxS3Blob ByteSize = 5 << 30
	// MaxRedirectTTL bounds how long a presigned download URL is valid.
	MaxRedirectTTL = 12 * time.Hour
)

var (
	s3PrefixRE = regexp.MustCompile(`^([A-Za-z0-9._-]+/)*$`)
	s3BucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// validateS3 checks the [storage.s3] table when the s3 backend is chosen.
func (c *Config) validateS3() []error {
	if c.Storage.Backend != "s3" {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Storage.S3
	u, err := s3Endpoint(s.Endpoint)
	if err != nil {
		bad("storage.s3.endpoint: %v", err)
	}
	if !s3BucketRE.MatchString(s.Bucket) || strings.Contains(s.Bucket, "..") {
		bad("storage.s3.bucket: %q is not a bucket name (3 to 63 of [a-z0-9.-], starting and ending with a letter or digit)", s.Bucket)
	}
	if s.Region == "" {
		bad("storage.s3.region: must not be empty (us-east-1 suits most servers that ignore regions)")
	}
	if !s3PrefixRE.MatchString(s.Prefix) || strings.Contains("/"+s.Prefix, "/./") || strings.Contains("/"+s.Prefix, "/../") {
		bad("storage.s3.prefix: %q: want \"\" or segments of [A-Za-z0-9._-] each ending in '/', like \"trove/\"", s.Prefix)
	}
	if (s.AccessKeyFile == "") != (s.SecretKeyFile == "") {
		bad("storage.s3: set both access_key_file and secret_key_file, or neither (then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used)")
	}
	if s.Timeout < Duration(time.Second) {
		bad("storage.s3.timeout: %s is below 1s", s.Timeout)
	}
	if s.Redirect {
		errs = append(errs, c.validateRedirect(u)...)
	}
	for _, eco := range slices.Sorted(maps.Keys(c.Limits.UploadBytes)) {
		if n := c.Limits.UploadBytes[eco]; n > MaxS3Blob {
			bad("limits.upload_bytes.%s: %s is above %s, the largest blob the s3 backend stores", eco, n, MaxS3Blob)
		}
	}
	return errs
}

// validateRedirect checks that clients can follow a redirect to the
// endpoint.
func (c *Config) validateRedirect(endpoint *url.URL) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ttl := c.Storage.S3.RedirectTTL
	if ttl < Duration(10*time.Second) || ttl > Duration(MaxRedirectTTL) {
		bad("storage.s3.redirect_ttl: %s is outside 10s..%s", ttl, Duration(MaxRedirectTTL))
	}
	if endpoint == nil {
		return errs
	}
	if strings.HasPrefix(c.BaseURL, "https:") && endpoint.Scheme == "http" {
		bad("storage.s3.redirect: base_url is https but the endpoint is http, and the go command refuses a redirect from https to http; use an https endpoint or turn redirects off")
	}
	if h := c.credentialHost(endpoint); h != "" {
		bad("storage.s3.redirect: downloads would be redirected to %s, the host name of base_url or one under it, and npm and the go command send their Trove credentials along such a redirect; give the S3 endpoint a host name of its own (for a trial on one machine: localhost beside 127.0.0.1)", h)
	}
	if isLoopbackHost(endpoint.Hostname()) && !c.LoopbackOnly() {
		bad("storage.s3.redirect: the endpoint %s is a loopback address, which clients of %s cannot reach; use an endpoint they can reach or turn redirects off", endpoint.Host, c.BaseURL)
	}
	return errs
}

// credentialHost returns the host a presigned URL names (the endpoint's,
// or bucket.endpoint's for virtual-host style) if it is base_url's host
// or one under it: npm keeps the Authorization header on a redirect to
// the same host name, and Go's HTTP client on one to a subdomain.
func (c *Config) credentialHost(endpoint *url.URL) string {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return ""
	}
	bh := strings.ToLower(base.Hostname())
	hosts := []string{strings.ToLower(endpoint.Hostname())}
	if !c.Storage.S3.PathStyle {
		hosts = append(hosts, c.Storage.S3.Bucket+"."+hosts[0])
	}
	for _, h := range hosts {
		if h == bh || strings.HasSuffix(h, "."+bh) {
			return h
		}
	}
	return ""
}

// s3Endpoint parses an endpoint: https://host[:port], or http:// to a
// loopback host only.
func s3Endpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("required with storage.backend = \"s3\" (e.g. https://s3.example.com)")
	case err != nil:
		return nil, err
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%q: want https://host[:port]", s)
	case u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q: want only a scheme, a host and a port, like https://s3.example.com:9000 (the bucket is set on its own)", s)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return nil, fmt.Errorf("%q: plain http is only allowed to a loopback address; use https", s)
	}
	return u, nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// inlineSecretHint explains an unknown setting that is a secret written
// inline where a *_file setting exists (storage.s3.secret_key).
func inlineSecretHint(keys []string) string {
	vars := EnvVars()
	for _, k := range keys {
		v := "TROVE_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_")) + "_FILE"
		if slices.Contains(vars, v) {
			return fmt.Sprintf(" (secrets are never written inline: put it in a file readable only by trove and set %s_file)", k)
		}
	}
	return ""
}
