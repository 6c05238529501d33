package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/trove-dev/trove/internal/blob"
)

// Limits and defaults.
const (
	// MaxBlobBytes is the largest blob: S3's limit for one PUT.
	MaxBlobBytes = 5 << 30
	// DefaultTimeout bounds each call, and each stall of a transfer.
	DefaultTimeout = 30 * time.Second
	// DefaultRegion is the region signed for when none is configured.
	DefaultRegion = "us-east-1"
	// MaxRedirectTTL bounds how long a presigned URL is valid.
	MaxRedirectTTL = 12 * time.Hour
)

// Config says where the blobs are and how to reach them.
type Config struct {
	// Endpoint is the S3 server's URL, https://host[:port]. Plain http is
	// refused except for loopback addresses.
	Endpoint  string
	Bucket    string
	Region    string // "": DefaultRegion
	Prefix    string // every key starts with it: "" or "path/" (see CheckPrefix)
	PathStyle bool   // bucket in the path (host/bucket/key), not the host name
	// Credentials sign every request and presigned URL.
	Credentials Credentials
	// Timeout bounds each call, and how long a transfer may make no
	// progress. 0: DefaultTimeout.
	Timeout time.Duration
	// RedirectTTL > 0 makes the store a blob.Presigner whose URLs are
	// valid that long; 0 hands out none.
	RedirectTTL time.Duration
	// SpoolDir holds uploads until their digest is known; "": os.TempDir.
	SpoolDir string
	// Transport replaces the default HTTP transport (tests).
	Transport http.RoundTripper
}

// Credentials are an S3 access key. They are never printed: String,
// GoString and LogValue redact them.
type Credentials struct {
	AccessKey    string
	SecretKey    string
	SessionToken string // for temporary credentials; usually empty
}

// String redacts the credentials.
func (Credentials) String() string { return "[credentials redacted]" }

// GoString redacts the credentials.
func (Credentials) GoString() string { return "[credentials redacted]" }

// LogValue redacts the credentials.
func (Credentials) LogValue() slog.Value { return slog.StringValue("[credentials redacted]") }

// Store is a blob.Store, blob.Quarantiner and blob.Presigner on a bucket.
type Store struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	endpoint string
	timeout  time.Duration
	ttl      time.Duration
	spool    string
	verifies bool
}

var (
	_ blob.Store       = (*Store)(nil)
	_ blob.Quarantiner = (*Store)(nil)
	_ blob.Presigner   = (*Store)(nil)
)

// New connects to the bucket and checks, with a probe object, that it
// exists and that the credentials can write, read and delete in it. It
// never creates the bucket.
func New(ctx context.Context, c Config) (*Store, error) {
	u, err := CheckEndpoint(c.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := CheckPrefix(c.Prefix); err != nil {
		return nil, err
	}
	if c.Bucket == "" {
		return nil, errors.New("s3: no bucket configured")
	}
	if c.Credentials.AccessKey == "" || c.Credentials.SecretKey == "" {
		return nil, errors.New("s3: no access key and secret key")
	}
	if c.RedirectTTL < 0 || c.RedirectTTL > MaxRedirectTTL {
		return nil, fmt.Errorf("s3: redirect TTL %s is outside 0..%s", c.RedirectTTL, MaxRedirectTTL)
	}
	s := &Store{bucket: c.Bucket, prefix: c.Prefix, endpoint: u.String(), timeout: c.Timeout, ttl: c.RedirectTTL, spool: c.SpoolDir}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.client, err = minio.New(u.Host, s.options(c, u.Scheme == "https"))
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s.core = minio.Core{Client: s.client}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) options(c Config, secure bool) *minio.Options {
	region := c.Region
	if region == "" {
		region = DefaultRegion
	}
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr := c.Transport
	if tr == nil {
		t, err := minio.DefaultTransport(secure)
		if err == nil {
			t.ResponseHeaderTimeout = s.timeout
			tr = t
		}
	}
	return &minio.Options{
		Creds:        credentials.NewStaticV4(c.Credentials.AccessKey, c.Credentials.SecretKey, c.Credentials.SessionToken),
		Secure:       secure,
		Region:       region, // also spares a GetBucketLocation call before the first request
		BucketLookup: lookup,
		Transport:    tr,
		MaxRetries:   3,
	}
}

// ServerVerifies reports whether New saw the server refuse a PUT whose
// bytes did not match the SHA-256 it was sent with: whether S3 itself
// checks each upload's digest, in addition to Trove.
func (s *Store) ServerVerifies() bool { return s.verifies }

// CheckEndpoint parses an endpoint URL: https://host[:port], or http://
// for a loopback host only (credentials and blobs would otherwise cross
// the network in the clear). It has no path, query or user.
func CheckEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	switch {
	case endpoint == "":
		return nil, errors.New("s3 endpoint: not set (e.g. https://s3.example.com)")
	case err != nil:
		return nil, fmt.Errorf("s3 endpoint: %v", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("s3 endpoint %q: want https://host[:port]", endpoint)
	case u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("s3 endpoint %q: want only a scheme, a host and a port, like https://s3.example.com:9000 (the bucket is set on its own)", endpoint)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return nil, fmt.Errorf("s3 endpoint %q: plain http is only allowed to a loopback address; use https", endpoint)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var prefixRE = regexp.MustCompile(`^([A-Za-z0-9._-]+/)*$`)

// CheckPrefix checks a key prefix: empty, or path segments of letters,
// digits, '.', '_' and '-', each followed by '/' ("trove/", "a/b/").
func CheckPrefix(p string) error {
	if !prefixRE.MatchString(p) || strings.Contains("/"+p, "/./") || strings.Contains("/"+p, "/../") {
		return fmt.Errorf("s3 prefix %q: want \"\" or segments of [A-Za-z0-9._-] each ending in '/', like \"trove/\"", p)
	}
	return nil
}

func (s *Store) blobKey(d blob.Digest) (string, error) {
	if _, err := blob.ParseDigest(string(d)); err != nil {
		return "", fmt.Errorf("%w: %w", blob.ErrNotFound, err)
	}
	return s.prefix + "sha256/" + string(d[:2]) + "/" + string(d), nil
}

func (s *Store) damagedKey(d blob.Digest) string { return s.prefix + "damaged/" + string(d) }

// call bounds one request-response call by the timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Open returns the blob's bytes from off with a (ranged) GET. The reader
// is an io.ReadSeeker (see object), so that HTTP range requests work.
func (s *Store) Open(ctx context.Context, d blob.Digest, off int64) (io.ReadCloser, error) {
	key, err := s.blobKey(d)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("opening blob %s at %d: negative offset", d, off)
	}
	wctx, st := s.watch(ctx)
	var o minio.GetObjectOptions
	if off > 0 {
		o.SetRange(off, 0)
	}
	body, _, h, err := s.core.GetObject(wctx, s.bucket, key, o)
	if err != nil {
		st.stop()
		return s.openFailed(ctx, d, off, err)
	}
	return s.newObject(ctx, key, off, &watchedBody{rc: body, st: st}, h), nil
}

// openFailed explains a failed GET: a missing or quarantined blob, or an
// offset at its very end (a range S3 cannot satisfy, but an empty read).
func (s *Store) openFailed(ctx context.Context, d blob.Digest, off int64, err error) (io.ReadCloser, error) {
	switch {
	case isNotFound(err):
		return nil, fmt.Errorf("opening blob %s: %w", d, s.missing(ctx, d))
	case minio.ToErrorResponse(err).Code == "InvalidRange":
		n, serr := s.Stat(ctx, d)
		if serr != nil {
			return nil, serr
		}
		if off == n {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, fmt.Errorf("opening blob %s at %d: the blob has %d bytes", d, off, n)
	}
	return nil, fmt.Errorf("opening blob %s: %w", d, err)
}

// Stat returns the blob's size with a HEAD.
func (s *Store) Stat(ctx context.Context, d blob.Digest) (int64, error) {
	key, err := s.blobKey(d)
	if err != nil {
		return 0, err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	info, err := s.client.StatObject(cctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return 0, fmt.Errorf("stat blob %s: %w", d, s.missing(ctx, d))
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return info.Size, nil
}

// missing tells a blob never stored (ErrNotFound) from one taken out of
// service (ErrDamaged). Only the miss path pays for the check.
func (s *Store) missing(ctx context.Context, d blob.Digest) error {
	cctx, cancel := s.call(ctx)
	defer cancel()
	if _, err := s.client.StatObject(cctx, s.bucket, s.damagedKey(d), minio.StatObjectOptions{}); err == nil {
		return blob.ErrDamaged
	}
	return blob.ErrNotFound
}

// Delete removes the blob. Deleting a missing blob is not an error.
func (s *Store) Delete(ctx context.Context, d blob.Digest) error {
	key, err := s.blobKey(d)
	if err != nil {
		return nil
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	if err := s.client.RemoveObject(cctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting blob %s: %w", d, err)
	}
	return nil
}

// Quarantine moves a damaged blob to damaged/ (a server-side copy, then
// a delete), after which Open and Stat answer blob.ErrDamaged.
func (s *Store) Quarantine(ctx context.Context, d blob.Digest) error {
	key, err := s.blobKey(d)
	if err != nil {
		return nil
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	_, err = s.client.CopyObject(cctx, minio.CopyDestOptions{Bucket: s.bucket, Object: s.damagedKey(d)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: key})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quarantining blob %s: %w", d, err)
	}
	if err := s.client.RemoveObject(cctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("quarantining blob %s: %w", d, err)
	}
	return nil
}

// isNotFound reports S3's "no such key" (a GET's NoSuchKey, a HEAD's
// bare 404). A missing bucket is a misconfiguration, not a missing blob.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket"
}
