package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog/memstore"
)

// privRecord returns a private package's publish record.
func privRecord(i int) []byte {
	e := &Event{Kind: "publish", Ecosystem: "npm", Name: fmt.Sprintf("@acme/secret-%d", i), Version: "1.0.0",
		Time: time.Date(2026, 11, 22, 0, 0, i%60, 0, time.UTC), Salt: NewSalt(),
		Files: []FileDigest{{Name: "secret.tgz", SHA256: strings.Repeat("cd", 32)}}}
	b, err := e.Format()
	if err != nil {
		panic(err)
	}
	return b
}

func TestRedactAndPlaceholder(t *testing.T) {
	pub, priv := record(1), privRecord(1)
	if IsPrivate(pub) || !IsPrivate(priv) {
		t.Fatalf("IsPrivate(public) = %v, IsPrivate(private) = %v", IsPrivate(pub), IsPrivate(priv))
	}
	if got := Redact(pub); !bytes.Equal(got, pub) {
		t.Errorf("Redact(public record) = %q, want it unchanged", got)
	}
	red := Redact(priv)
	leaf := tlog.RecordHash(priv)
	if !IsPlaceholder(red) || IsPlaceholder(priv) || IsPlaceholder(pub) {
		t.Fatalf("Redact(private) = %q: not a placeholder", red)
	}
	for _, secret := range []string{"secret", "acme", "1.0.0", "cdcd", "salt"} {
		if bytes.Contains(red, []byte(secret)) {
			t.Errorf("placeholder %q holds %q", red, secret)
		}
	}
	if got, err := ParsePlaceholder(red); err != nil || got != leaf {
		t.Fatalf("ParsePlaceholder(Redact(private)) = %v, %v; want the record's leaf %v", got, err, leaf)
	}
	if got, err := LeafHash(red); err != nil || got != leaf {
		t.Errorf("LeafHash(placeholder) = %v, %v", got, err)
	}
	if got, err := LeafHash(pub); err != nil || got != tlog.RecordHash(pub) {
		t.Errorf("LeafHash(public) = %v, %v", got, err)
	}
	if _, err := tlog.FormatRecord(7, red); err != nil {
		t.Errorf("a placeholder is not a valid go.sum database record: %v", err)
	}
	if !bytes.Equal(Redact(red), red) {
		t.Errorf("Redact(placeholder) changed it")
	}
	good := string(red)
	for _, bad := range []string{
		"",
		PlaceholderHeader + "\n",
		strings.TrimSuffix(good, "\n"),
		good + "\n",
		strings.Replace(good, "leaf ", "leaf  ", 1),
		strings.Replace(good, "leaf ", "hash ", 1),
		strings.Replace(good, "=\n", "A\n", 1),                         // not canonical base64 (or not 32 bytes)
		PlaceholderHeader + "\nleaf " + strings.Repeat("A", 44) + "\n", // 33 bytes
		PlaceholderHeader + "\nleaf !" + strings.Repeat("A", 43) + "\n",
	} {
		if _, err := ParsePlaceholder([]byte(bad)); err == nil {
			t.Errorf("ParsePlaceholder(%q) succeeded", bad)
		}
		if IsPlaceholder([]byte(bad)) {
			if _, err := LeafHash([]byte(bad)); err == nil {
				t.Errorf("LeafHash(%q) succeeded", bad)
			}
		}
	}
	// A record whose fourth line is not a salt is not private.
	notSalt := strings.Replace(string(priv), "salt ", "salt x", 1)
	if IsPrivate([]byte(notSalt)) || IsPrivate([]byte("trove-event 1\n")) {
		t.Errorf("IsPrivate accepts a record without a salt line")
	}
}

// mixed returns a store of n records, every third one private.
func mixed(t *testing.T, n int) *memstore.Store {
	t.Helper()
	s := memstore.New()
	for i := range n {
		r := record(i)
		if i%3 == 1 {
			r = privRecord(i)
		}
		if _, err := Append(ctx, s, r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestTreeVerifiesFromRedactedBundles(t *testing.T) {
	const n = 300
	s := mixed(t, n)
	want, err := TreeOf(ctx, s, n)
	if err != nil {
		t.Fatal(err)
	}
	h := newHashes(ctx, nil, 0)
	private := 0
	for k := int64(0); k<<TileHeight < n; k++ {
		tile := tlog.Tile{H: TileHeight, L: -1, N: k, W: int(min(n-k<<TileHeight, 1<<TileHeight))}
		b, err := ReadTile(ctx, s, tile)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("secret")) {
			t.Fatalf("entry bundle %d holds a private record's text", k)
		}
		recs, err := ParseBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if IsPlaceholder(r) {
				private++
			}
		}
		if err := h.add(k<<TileHeight, recs); err != nil {
			t.Fatal(err)
		}
	}
	if private != n/3 {
		t.Errorf("%d placeholders in the bundles, want %d", private, n/3)
	}
	got, err := tlog.TreeHash(n, h)
	if err != nil || got != want.Hash {
		t.Fatalf("tree hash from redacted bundles = %v, %v; want %v", got, err, want.Hash)
	}

	// A placeholder naming another leaf makes another tree.
	recs, _ := s.ReadLogRecords(ctx, 0, n)
	recs = RedactAll(recs)
	recs[4] = Placeholder(tlog.RecordHash(record(4)))
	h = newHashes(ctx, nil, 0)
	if err := h.add(0, recs); err != nil {
		t.Fatal(err)
	}
	if got, _ := tlog.TreeHash(n, h); got == want.Hash {
		t.Errorf("a tampered placeholder still makes the signed tree")
	}
	recs[4] = []byte(PlaceholderHeader + "\nleaf nonsense\n")
	if err := newHashes(ctx, nil, 0).add(0, recs); err == nil {
		t.Errorf("a malformed placeholder was hashed")
	}
}

func TestPrivateRecordProofIsGated(t *testing.T) {
	dir := t.TempDir()
	s := mixed(t, 6) // records 1 and 4 are private
	l, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint")})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(l, s, nil)
	allow := map[int64]bool{}
	type reader struct{}
	srv.GateRecords(func(ctx context.Context, id int64) (bool, error) {
		return ctx.Value(reader{}) != nil && allow[id], nil
	})
	ts := httptest.NewServer(http.StripPrefix("/log", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			r = r.WithContext(context.WithValue(r.Context(), reader{}, true))
		}
		srv.ServeHTTP(w, r)
	})))
	defer ts.Close()
	get := func(path string, auth bool, etag string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", ts.URL+"/log/"+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer x")
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, hdr := get("proof/0", false, ""); code != 200 || !strings.Contains(body, "extra ") || hdr.Get("Cache-Control") != "no-cache" {
		t.Fatalf("proof of a public record = %d %q (Cache-Control %q)", code, body, hdr.Get("Cache-Control"))
	}
	allow[1] = true
	for _, tc := range []struct {
		id   string
		auth bool
		ok   bool
	}{{"1", false, false}, {"1", true, true}, {"4", true, false}, {"4", false, false}} {
		code, body, hdr := get("proof/"+tc.id, tc.auth, "")
		if !tc.ok {
			want := "record " + tc.id + " is private: its text is shown only to those who may read its package"
			if code != http.StatusNotFound || !strings.Contains(body, want) || strings.Contains(body, "secret") {
				t.Errorf("proof/%s (auth %v) = %d %q, want 404 %q", tc.id, tc.auth, code, body, want)
			}
			if c, _, _ := get("proof/"+tc.id, tc.auth, fmt.Sprintf(`"proof-%s-6"`, tc.id)); c != http.StatusNotFound {
				t.Errorf("proof/%s revalidated (auth %v) = %d, want 404", tc.id, tc.auth, c)
			}
			continue
		}
		p, err := OpenProof([]byte(body), l.verifier, nil)
		if code != 200 || err != nil || !strings.Contains(string(p.Text), "@acme/secret-1") {
			t.Fatalf("proof/1 for a reader = %d, %v", code, err)
		}
		if cc := hdr.Get("Cache-Control"); cc != "private, no-cache" {
			t.Errorf("proof/1 for a reader: Cache-Control %q, want private, no-cache (no shared cache keeps it)", cc)
		}
		if c, _, h := get("proof/1", true, hdr.Get("ETag")); c != http.StatusNotModified || h.Get("Cache-Control") != "private, no-cache" {
			t.Errorf("proof/1 revalidated by a reader = %d (Cache-Control %q), want 304, private", c, h.Get("Cache-Control"))
		}
	}
	// Without a gate, nobody gets a private record's proof.
	if _, err := NewServer(l, s, nil).Prove(ctx, 4); !errors.As(err, new(*PrivateError)) || !errors.Is(err, ErrNotFound) {
		t.Errorf("Prove(private) without a gate = %v, want a PrivateError", err)
	}
	// The entry bundle holds both private records redacted, for everyone.
	for _, auth := range []bool{false, true} {
		code, body, _ := get("tile/entries/000.p/6", auth, "")
		recs, err := ParseBundle([]byte(body))
		if code != 200 || err != nil || len(recs) != 6 || !IsPlaceholder(recs[1]) || !IsPlaceholder(recs[4]) || IsPlaceholder(recs[0]) {
			t.Errorf("entry bundle (auth %v) = %d, %v: want records 1 and 4 redacted", auth, code, err)
		}
	}
}

func TestMirrorWithPrivateRecords(t *testing.T) {
	dir, st := t.TempDir(), newMemState()
	s := mixed(t, 40)
	l, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st})
	if err != nil {
		t.Fatal(err)
	}
	mirrorDir := t.TempDir()
	copyLog(t, l, s, mirrorDir)
	m, err := NewMirror(mirrorDir)
	if err != nil {
		t.Fatal(err)
	}
	keys := func() string {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "key"), 0o700)
		for _, f := range []string{"signer.key", "verifier.key"} {
			b, _ := os.ReadFile(filepath.Join(dir, "key", f))
			os.WriteFile(filepath.Join(d, "key", f), b, 0o600)
		}
		return d
	}

	// The whole database against a mirror holding its private records
	// redacted: no fork.
	if lo, err := openWith(t, s, keys(), Options{Mirrors: []Source{m}}); err != nil || lo.Writable() != nil {
		t.Fatalf("OpenWith(database, redacted mirror) = %v, writable %v", err, lo.Writable())
	}

	// A database restored from a backup of 10 records: the mirror proves
	// the missing ones but cannot restore the private ones.
	old := prefix(t, s, 10)
	lo, err := openWith(t, old, keys(), Options{Mirrors: []Source{m}})
	if err != nil || lo.Writable() == nil {
		t.Fatalf("OpenWith(old database) = %v; want read-only", err)
	}
	_, err = lo.Missing(ctx, nil)
	if !errors.Is(err, ErrWithheld) {
		t.Errorf("Missing from a redacted mirror = %v, want ErrWithheld", err)
	}
	for _, want := range []string{mirrorDir, "private records whose texts a mirror of /log never holds", "records 10, 13, 16, 19, 22 and 5 more", "blob store"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Missing from a redacted mirror = %v, want %q in it", err, want)
		}
	}
	// With the blob store's copy, the full texts come back.
	lo, err = openWith(t, old, keys(), Options{Mirrors: []Source{m}, State: st})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := lo.Missing(ctx, nil)
	if err != nil {
		t.Fatalf("Missing with the blob store: %v", err)
	}
	if rec.From != "the blob store" || len(rec.Records) != 30 {
		t.Fatalf("Missing with the blob store = %d records from %s; want 30 from the blob store", len(rec.Records), rec.From)
	}
	want, _ := s.ReadLogRecords(ctx, 10, 30)
	for i := range want {
		if !bytes.Equal(rec.Records[i], want[i]) {
			t.Fatalf("recovered record %d differs from the original", 10+i)
		}
	}

	// A database that forks after private records: the fork is named at
	// the first record that really differs, not at a redacted one.
	forked := prefix(t, s, 20)
	Append(ctx, forked, record(900))
	for i := 21; i < 40; i++ {
		Append(ctx, forked, record(i))
	}
	_, err = openWith(t, forked, keys(), Options{Mirrors: []Source{m}})
	var fork *ForkError
	if !errors.As(err, &fork) || fork.Record != 20 {
		t.Fatalf("OpenWith(database forked at record 20) = %v, want a ForkError at record 20", err)
	}
}
