// Package leak receives reports of exposed tokens from secret scanners
// in GitHub's secret scanning partner format: a POST whose body is a JSON
// array of findings,
//
//	[{"token": "trove_…", "type": "trove_api_token", "url": "https://…", "source": "content"}]
//
// signed with ECDSA P-256 over SHA-256 of the raw body bytes; the
// signature (base64 of its ASN.1 DER form) is in the
// Github-Public-Key-Signature header and the id of the signing key in
// Github-Public-Key-Identifier. The verification keys come from the
// configuration (key id → PEM) and, optionally, from a URL serving the
// scanner's key list ({"public_keys": [{"key_identifier", "key"}]}),
// fetched and cached (see [Keys]).
//
// # Limits
//
// A report is at most MaxBody bytes and MaxFindings findings; the key
// list at most MaxKeyList bytes, fetched at most once per KeyRefresh
// (and at most once a minute for a key id it does not know).
package leak

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// The headers of a signed report.
const (
	KeyIDHeader     = "Github-Public-Key-Identifier"
	SignatureHeader = "Github-Public-Key-Signature"
)

// Limits.
const (
	// MaxBody bounds a report's body.
	MaxBody = 1 << 20
	// MaxFindings bounds the findings of one report.
	MaxFindings = 1000
	// MaxKeyList bounds the key list fetched from a URL.
	MaxKeyList = 256 << 10
	// KeyRefresh is how long a fetched key list is used.
	KeyRefresh = 30 * time.Minute
	// unknownKeyRefetch is how often an unknown key id may cause a fetch.
	unknownKeyRefetch = time.Minute
)

// A Finding is one exposed secret a scanner reports.
type Finding struct {
	Token string `json:"token"`
	// Type is the scanner's name for the kind of secret.
	Type string `json:"type"`
	// URL is where it was found; it may be empty.
	URL string `json:"url"`
	// Source is what kind of place it was found in (content, commit,
	// issue_comment, npm, …).
	Source string `json:"source"`
}

// ParseReport parses a report's body: a JSON array of findings, at most
// MaxFindings, each with a token. Findings of one token are merged (the
// first one's place is kept).
func ParseReport(body []byte) ([]Finding, error) {
	var fs []Finding
	if err := json.Unmarshal(body, &fs); err != nil {
		return nil, trove.Error(trove.ErrInvalid, "the report is not a JSON array of findings like [{\"token\": \"…\", \"type\": \"…\", \"url\": \"…\", \"source\": \"…\"}]: %v", err)
	}
	if len(fs) > MaxFindings {
		return nil, trove.Error(trove.ErrTooLarge, "the report has %d findings; send at most %d in one request", len(fs), MaxFindings)
	}
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for i, f := range fs {
		if f.Token == "" {
			return nil, trove.Error(trove.ErrInvalid, "finding %d has no token", i)
		}
		if seen[f.Token] {
			continue
		}
		seen[f.Token] = true
		out = append(out, f)
	}
	return out, nil
}

// Keys verifies the signatures of reports.
type Keys struct {
	static map[string]*ecdsa.PublicKey
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	fetched map[string]*ecdsa.PublicKey
	at      time.Time // of the last fetch attempt
	ok      time.Time // of the last successful fetch
}

// NewKeys returns the verifier of reports signed by the keys given as PEM
// public keys by key id, and, if url is not empty, by the keys of the key
// list it serves (fetched with client; nil for a client with a
// 10-second timeout). now may be nil for time.Now.
func NewKeys(static map[string]string, url string, client *http.Client, now func() time.Time) (*Keys, error) {
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	k := &Keys{static: make(map[string]*ecdsa.PublicKey), url: url, client: client, now: now}
	var errs []error
	for id, p := range static {
		pub, err := ParseKey(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("secret scanning key %q: %w", id, err))
			continue
		}
		k.static[id] = pub
	}
	return k, errors.Join(errs...)
}

// ParseKey parses a PEM "PUBLIC KEY" block holding an ECDSA P-256 key.
func ParseKey(p string) (*ecdsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(p)))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY block")
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return ec, nil
}

// Verify checks sig (base64 of an ASN.1 DER ECDSA signature) over the raw
// body with the key keyID. Missing headers wrap trove.ErrNotFound (the
// endpoint is not for callers who do not sign); a bad signature or an
// unknown key wraps trove.ErrInvalid.
func (k *Keys) Verify(ctx context.Context, keyID, sig string, body []byte) error {
	if keyID == "" || sig == "" {
		return trove.Error(trove.ErrNotFound, "a secret scanning report needs the %s and %s headers", KeyIDHeader, SignatureHeader)
	}
	pub, err := k.key(ctx, keyID)
	if err != nil {
		return err
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return trove.Error(trove.ErrInvalid, "the %s header is not base64", SignatureHeader)
	}
	h := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, h[:], der) {
		return trove.Error(trove.ErrInvalid, "the report's signature does not verify with key %q", keyID)
	}
	return nil
}

// key returns the key with the id, from the configuration or the key list.
func (k *Keys) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	if pub := k.static[id]; pub != nil {
		return pub, nil
	}
	if k.url == "" {
		return nil, trove.Error(trove.ErrInvalid, "unknown signing key %q", id)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	pub := k.fetched[id]
	stale := now.Sub(k.ok) >= KeyRefresh
	if (stale || pub == nil) && now.Sub(k.at) >= unknownKeyRefetch {
		k.at = now
		keys, err := k.fetch(ctx)
		if err != nil && pub == nil {
			return nil, fmt.Errorf("fetching the secret scanner's keys: %w", err)
		}
		if err == nil {
			k.fetched, k.ok = keys, now
			pub = keys[id]
		}
	}
	if pub == nil {
		return nil, trove.Error(trove.ErrInvalid, "unknown signing key %q", id)
	}
	return pub, nil
}

// fetch reads the key list at the URL.
func (k *Keys) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", k.url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeyList+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxKeyList {
		return nil, fmt.Errorf("the key list at %s is larger than %d bytes", k.url, MaxKeyList)
	}
	var list struct {
		PublicKeys []struct {
			ID  string `json:"key_identifier"`
			Key string `json:"key"`
		} `json:"public_keys"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&list); err != nil {
		return nil, fmt.Errorf("reading the key list at %s: %w", k.url, err)
	}
	keys := make(map[string]*ecdsa.PublicKey)
	for _, e := range list.PublicKeys {
		if pub, err := ParseKey(e.Key); err == nil && e.ID != "" {
			keys[e.ID] = pub
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the key list at %s holds no ECDSA P-256 key", k.url)
	}
	return keys, nil
}
