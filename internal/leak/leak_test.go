package leak

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A signer is a scanner's key pair.
type signer struct {
	key *ecdsa.PrivateKey
	pem string
}

func newSigner(t *testing.T, curve elliptic.Curve) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return signer{k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

func (s signer) sign(t *testing.T, body []byte) string {
	t.Helper()
	h := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	good, other := newSigner(t, elliptic.P256()), newSigner(t, elliptic.P256())
	keys, err := NewKeys(map[string]string{"k1": good.pem}, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"token":"trove_x","type":"trove_api_token","url":"","source":"content"}]`)
	if err := keys.Verify(ctx, "k1", good.sign(t, body), body); err != nil {
		t.Fatalf("Verify(good) = %v", err)
	}
	// The raw bytes are signed: the same JSON with other spacing is not.
	spaced := []byte(strings.Replace(string(body), ",", ", ", 1))
	for _, tc := range []struct {
		name      string
		id, sig   string
		body      []byte
		wantIs    error
		wantInMsg string
	}{
		{"reserialized body", "k1", good.sign(t, body), spaced, trove.ErrInvalid, "does not verify"},
		{"another key", "k1", other.sign(t, body), body, trove.ErrInvalid, "does not verify"},
		{"unknown key", "k2", good.sign(t, body), body, trove.ErrInvalid, `unknown signing key "k2"`},
		{"not base64", "k1", "%%%", body, trove.ErrInvalid, "not base64"},
		{"no signature", "k1", "", body, trove.ErrNotFound, "needs the"},
		{"no key id", "", good.sign(t, body), body, trove.ErrNotFound, "needs the"},
	} {
		err := keys.Verify(ctx, tc.id, tc.sig, tc.body)
		if !errors.Is(err, tc.wantIs) || !strings.Contains(err.Error(), tc.wantInMsg) {
			t.Errorf("%s: Verify = %v, want %v containing %q", tc.name, err, tc.wantIs, tc.wantInMsg)
		}
	}
}

func TestParseKey(t *testing.T) {
	p384 := newSigner(t, elliptic.P384())
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for name, p := range map[string]string{"P-384": p384.pem, "RSA": rsaPEM, "garbage": "hello", "certificate block": strings.ReplaceAll(rsaPEM, "PUBLIC KEY", "CERTIFICATE")} {
		if _, err := ParseKey(p); err == nil {
			t.Errorf("ParseKey(%s) = nil error", name)
		}
	}
	if _, err := NewKeys(map[string]string{"bad": "hello"}, "", nil, nil); err == nil || !strings.Contains(err.Error(), `secret scanning key "bad"`) {
		t.Errorf("NewKeys with a bad key = %v, want an error naming it", err)
	}
}

// TestKeyList: keys not configured come from the key list, fetched once
// and cached for KeyRefresh; an unknown key id refetches at most once a
// minute; a key that went away stays usable while the list cannot be
// fetched.
func TestKeyList(t *testing.T) {
	ctx := context.Background()
	s1, s2 := newSigner(t, elliptic.P256()), newSigner(t, elliptic.P256())
	var fetches atomic.Int32
	list := []map[string]any{{"key_identifier": "a", "key": s1.pem, "is_current": true}}
	down := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"public_keys": list})
	}))
	defer srv.Close()
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	keys, err := NewKeys(nil, srv.URL, srv.Client(), func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[]`)
	verify := func(id string, s signer) error { return keys.Verify(ctx, id, s.sign(t, body), body) }
	for range 3 {
		if err := verify("a", s1); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for three reports, want 1", n)
	}
	// A rotated key appears: an unknown id fetches, but not twice a minute.
	list = append(list, map[string]any{"key_identifier": "b", "key": s2.pem})
	clock = clock.Add(10 * time.Second)
	if err := verify("b", s2); err == nil || fetches.Load() != 1 {
		t.Errorf("unknown key 10s after a fetch: %v after %d fetches, want refused without fetching", err, fetches.Load())
	}
	clock = clock.Add(time.Minute)
	if err := verify("b", s2); err != nil || fetches.Load() != 2 {
		t.Errorf("unknown key a minute later: %v after %d fetches, want verified after a second fetch", err, fetches.Load())
	}
	// The list goes down: known keys still verify.
	down = true
	clock = clock.Add(KeyRefresh + time.Minute)
	if err := verify("a", s1); err != nil {
		t.Errorf("known key while the list is down: %v", err)
	}
	if err := verify("c", s1); err == nil || !strings.Contains(err.Error(), "unknown signing key") {
		t.Errorf("unknown key just after a failed fetch: %v, want refused without fetching", err)
	}
	clock = clock.Add(time.Minute)
	if err := verify("c", s1); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("unknown key while the list is down: %v, want the fetch's failure", err)
	}
}

func TestParseReport(t *testing.T) {
	fs, err := ParseReport([]byte(`[{"token":"t1","type":"x","url":"https://a","source":"commit"},{"token":"t2"},{"token":"t1","url":"https://b"}]`))
	if err != nil || len(fs) != 2 || fs[0].URL != "https://a" || fs[1].Token != "t2" {
		t.Errorf("ParseReport = %+v, %v; want t1 (first place) and t2", fs, err)
	}
	many := "[" + strings.Repeat(`{"token":"t"},`, MaxFindings) + `{"token":"u"}]`
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"token":"t"}`, trove.ErrInvalid},
		{`[{"url":"x"}]`, trove.ErrInvalid},
		{`not json`, trove.ErrInvalid},
		{many, trove.ErrTooLarge},
	} {
		if _, err := ParseReport([]byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("ParseReport(%.40q) = %v, want %v", tc.body, err, tc.want)
		}
	}
}
