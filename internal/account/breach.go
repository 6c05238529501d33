package account

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // the breach corpora are keyed by SHA-1; nothing is protected by it
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Breached passwords (OSSF-AUTHN-2.4)
//
// Both corpora use the SHA-1 prefix format: the upper-case hex SHA-1 of a
// password is split into a 5-character prefix and a 35-character suffix,
// and a corpus answers, for a prefix, lines "SUFFIX:COUNT". Only the
// prefix ever leaves the server (k-anonymity: about 800 hashes share one).

// Breaches tells how often a password appears in known breaches.
type Breaches interface {
	// Seen returns how many times password appears in the corpus (0: never).
	// An error means the corpus could not be consulted; the caller decides
	// whether to fail open (see [Users.SetBreaches]).
	Seen(ctx context.Context, password string) (int, error)
}

// ErrBreached reports a password found in known breaches.
var ErrBreached = errors.New("breached password")

// BreachedError is the refusal of a breached password at sign-up, change
// or reset: an ErrInvalid and an ErrBreached whose message, after
// ErrInvalid's, is the sentence shown to people.
func BreachedError(count int) error { return breachedError(count) }

type breachedError int

func (e breachedError) Error() string {
	return fmt.Sprintf("%s: this password appears in %d known breaches; choose another", ErrInvalid, int(e))
}

func (e breachedError) Is(target error) bool { return target == ErrInvalid || target == ErrBreached }

// Breach check limits.
const (
	// BreachTimeout bounds one range request.
	BreachTimeout = 5 * time.Second
	// MaxRangeBytes bounds a range response: real ones are about 20-40 KiB
	// (about 1,000 lines, up to 2,000 with padding).
	MaxRangeBytes = 1 << 20
	// breachCacheSize bounds the prefixes the range client remembers.
	breachCacheSize = 1024
	// BreachCacheTTL is how long a prefix's answer is remembered.
	BreachCacheTTL = time.Hour
)

// sha1Parts returns the upper-case hex prefix (5) and suffix (35) of the
// SHA-1 of password.
func sha1Parts(password string) (prefix, suffix string) {
	sum := sha1.Sum([]byte(password)) //nolint:gosec // see import
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	return h[:5], h[5:]
}

// parseRangeLine parses "SUFFIX:COUNT" (35 hex characters, a count).
func parseRangeLine(line string) (suffix string, count int, ok bool) {
	line = strings.TrimSpace(line)
	s, c, found := strings.Cut(line, ":")
	if !found || len(s) != 35 {
		return "", 0, false
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return strings.ToUpper(s), n, true
}

// RangeBreaches consults a k-anonymity range API: GET <base>/range/<PREFIX>
// with the header Add-Padding: true, answering SUFFIX:COUNT lines (padding
// lines have count 0).
type RangeBreaches struct {
	base   *url.URL
	client *http.Client
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]rangeEntry
}

type rangeEntry struct {
	counts map[string]int
	until  time.Time
}

// NewRangeBreaches returns a client of the range API at base (the
// operator's: accounts.breached_passwords_url). client may be nil for one
// with BreachTimeout.
func NewRangeBreaches(base string, client *http.Client) (*RangeBreaches, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("accounts.breached_passwords_url %q: want an http(s) URL such as https://range.example/ whose /range/ABCDE answers SUFFIX:COUNT lines", base)
	}
	if client == nil {
		client = &http.Client{Timeout: BreachTimeout}
	}
	return &RangeBreaches{base: u, client: client, now: time.Now, cache: make(map[string]rangeEntry)}, nil
}

// Seen implements Breaches.
func (r *RangeBreaches) Seen(ctx context.Context, password string) (int, error) {
	prefix, suffix := sha1Parts(password)
	counts, err := r.prefix(ctx, prefix)
	if err != nil {
		return 0, err
	}
	return counts[suffix], nil
}

// prefix returns the counts of a prefix, from the cache or the API.
func (r *RangeBreaches) prefix(ctx context.Context, prefix string) (map[string]int, error) {
	now := r.now()
	r.mu.Lock()
	e, ok := r.cache[prefix]
	r.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.counts, nil
	}
	counts, err := r.fetch(ctx, prefix)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.cache) >= breachCacheSize {
		clear(r.cache)
	}
	r.cache[prefix] = rangeEntry{counts: counts, until: now.Add(BreachCacheTTL)}
	r.mu.Unlock()
	return counts, nil
}

// fetch asks the API for one prefix.
func (r *RangeBreaches) fetch(ctx context.Context, prefix string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, BreachTimeout)
	defer cancel()
	u := r.base.JoinPath("range", prefix)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Add-Padding", "true")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("breached-password range API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("breached-password range API %s answered %s", u.Redacted(), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRangeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("breached-password range API: reading: %w", err)
	}
	if len(body) > MaxRangeBytes {
		return nil, fmt.Errorf("breached-password range API %s: answer larger than %d bytes", u.Redacted(), MaxRangeBytes)
	}
	counts := make(map[string]int)
	for line := range strings.Lines(string(body)) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		s, n, ok := parseRangeLine(line)
		if !ok {
			return nil, fmt.Errorf("breached-password range API %s: malformed line %.60q (want SUFFIX:COUNT)", u.Redacted(), line)
		}
		if n > 0 {
			counts[s] = n
		}
	}
	return counts, nil
}

// FileBreaches consults one file of "HASH:COUNT" lines (40 upper- or
// lower-case hex characters of SHA-1, a count), sorted by hash: the
// format the public downloader writes in its single-file mode. It is
// searched in place (binary search over byte offsets), never loaded into
// memory. A directory of per-prefix files is not supported.
type FileBreaches struct {
	f    *os.File
	size int64
}

// OpenFileBreaches opens the sorted file at path
// (accounts.breached_passwords_file) and checks its first line.
func OpenFileBreaches(path string) (*FileBreaches, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("accounts.breached_passwords_file: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("accounts.breached_passwords_file %s is a directory: a directory of per-prefix files is not supported; give one file of sorted HASH:COUNT lines", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("accounts.breached_passwords_file: %w", err)
	}
	b := &FileBreaches{f: f, size: fi.Size()}
	if b.size > 0 {
		line, _, err := b.lineAt(0)
		if err != nil || !validHashLine(line) {
			f.Close()
			return nil, fmt.Errorf("accounts.breached_passwords_file %s: first line %.60q is not HASH:COUNT (40 hex characters of SHA-1, a colon, a count)", path, line)
		}
	}
	return b, nil
}

// Close closes the file.
func (b *FileBreaches) Close() error { return b.f.Close() }

func validHashLine(line string) bool {
	h, c, ok := strings.Cut(line, ":")
	if !ok || len(h) != 40 {
		return false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return false
	}
	_, err := strconv.Atoi(c)
	return err == nil
}

// Seen implements Breaches.
func (b *FileBreaches) Seen(_ context.Context, password string) (int, error) {
	prefix, suffix := sha1Parts(password)
	want := prefix + suffix
	// Find the first line starting at or after lo whose hash >= want.
	lo, hi := int64(0), b.size
	for lo < hi {
		mid := lo + (hi-lo)/2
		start, line, raw, err := b.lineAfter(mid)
		if err != nil {
			return 0, err
		}
		if start >= hi || strings.ToUpper(hashOf(line)) >= want {
			hi = mid
		} else {
			lo = start + int64(raw) + 1
		}
	}
	_, line, _, err := b.lineAfter(lo)
	if err != nil {
		return 0, err
	}
	if strings.ToUpper(hashOf(line)) != want {
		return 0, nil
	}
	_, c, _ := strings.Cut(strings.TrimSpace(line), ":")
	n, err := strconv.Atoi(c)
	if err != nil {
		return 0, fmt.Errorf("breached-password file: malformed line %.60q", line)
	}
	return n, nil
}

func hashOf(line string) string {
	h, _, _ := strings.Cut(line, ":")
	return h
}

// lineAfter returns the first line that starts at or after off (off itself
// if it is 0 or follows a newline), where it starts and its length in the
// file; at the end of the file it returns (size, "", 0).
func (b *FileBreaches) lineAfter(off int64) (int64, string, int, error) {
	if off > 0 {
		buf := make([]byte, 1)
		if _, err := b.f.ReadAt(buf, off-1); err != nil {
			return 0, "", 0, fmt.Errorf("breached-password file: %w", err)
		}
		if buf[0] != '\n' {
			_, raw, err := b.lineAt(off)
			if err != nil {
				return 0, "", 0, err
			}
			off += int64(raw) + 1
		}
	}
	if off >= b.size {
		return b.size, "", 0, nil
	}
	line, raw, err := b.lineAt(off)
	return off, line, raw, err
}

// lineAt reads from off to the next newline (at most 256 bytes: lines are
// about 50) and returns the line without the newline or a carriage return,
// and its length in the file without the newline.
func (b *FileBreaches) lineAt(off int64) (string, int, error) {
	buf := make([]byte, 256)
	n, err := b.f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", 0, fmt.Errorf("breached-password file: %w", err)
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	} else if off+int64(n) < b.size {
		return "", 0, fmt.Errorf("breached-password file: line at byte %d is longer than 256 bytes", off)
	}
	return strings.TrimRight(string(buf), "\r"), len(buf), nil
}
