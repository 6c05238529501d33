package goproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

// memSumState is a SumState in memory.
type memSumState struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemSumState() *memSumState { return &memSumState{m: map[string][]byte{}} }

func (s *memSumState) SumState(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.m[key]), nil
}

func (s *memSumState) SwapSumState(_ context.Context, key string, old, new []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[key]; ok != (old != nil) || !bytes.Equal(cur, old) {
		return false, nil
	}
	s.m[key] = bytes.Clone(new)
	return true, nil
}

func (s *memSumState) PutSumState(_ context.Context, key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = bytes.Clone(data)
	return nil
}

// fakeSumDB is an upstream checksum database (x/mod's reference server)
// holding the go.sum lines in sums, keyed by module@version.
type fakeSumDB struct {
	srv  *httptest.Server
	sums map[string]string
	mu   sync.Mutex
	reqs []string
}

// sumLines returns made-up go.sum lines of a module version, distinct
// per seed.
func sumLines(path, vers, seed string) string {
	h := func(s string) string { return "h1:" + strings.Repeat(s, 43)[:43] + "=" }
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, h("Z"+seed), path, vers, h("M"+seed))
}

// newFakeSumDB starts a database signed by skey.
func newFakeSumDB(t *testing.T, skey string, sums map[string]string) *fakeSumDB {
	t.Helper()
	f := &fakeSumDB{sums: sums}
	ts := sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		s, ok := f.sums[path+"@"+vers]
		if !ok {
			return nil, &fs.PathError{Op: "lookup", Path: path + "@" + vers, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	})
	h := sumdb.NewServer(ts)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.URL.Path)
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// newSumKey returns a signer and verifier key for a database name.
func newSumKey(t *testing.T, name string) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func lineSlice(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func newTestUpstreamDB(t *testing.T, vkey, url string, state SumState) *upstreamDB {
	t.Helper()
	d, err := newUpstreamDB(vkey, url, "up", url, "", http.DefaultClient, state)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUpstreamDBVerify(t *testing.T) {
	skey, vkey := newSumKey(t, "sum.example.test")
	good := sumLines("example.test/a", "v1.0.0", "a")
	db := newFakeSumDB(t, skey, map[string]string{"example.test/a@v1.0.0": good, "example.test/b@v1.0.0": sumLines("example.test/b", "v1.0.0", "b")})
	state := newMemSumState()
	d := newTestUpstreamDB(t, vkey, db.srv.URL, state)
	ctx := context.Background()
	a := module.Version{Path: "example.test/a", Version: "v1.0.0"}

	if err := d.verify(ctx, a, lineSlice(good)); err != nil {
		t.Fatalf("verify of the database's own lines: %v", err)
	}
	if latest, _ := state.SumState(ctx, "sum.example.test/latest"); !bytes.Contains(latest, []byte("go.sum database tree\n1\n")) {
		t.Errorf("the verified tree was not kept: %q", latest)
	}

	// A zip or go.mod that hashes otherwise is refused, naming both.
	for i, what := range []string{"the module zip", "the go.mod file"} {
		lines := lineSlice(good)
		lines[i] = strings.Replace(lines[i], "h1:", "h1:X", 1)
		err := d.verify(ctx, a, lines)
		var ve *VerifyError
		if !errors.As(err, &ve) || !errors.Is(err, trove.ErrGone) || !strings.Contains(err.Error(), what) ||
			!strings.Contains(err.Error(), "SECURITY ERROR") || !strings.Contains(err.Error(), "holds") {
			t.Errorf("verify with another hash of %s: %v, want a SECURITY ERROR VerifyError naming it", what, err)
		}
	}

	// A version the database does not know is refused.
	unknown := module.Version{Path: "example.test/c", Version: "v1.0.0"}
	err := d.verify(ctx, unknown, lineSlice(sumLines(unknown.Path, unknown.Version, "c")))
	if ve := (*VerifyError)(nil); !errors.As(err, &ve) || !strings.Contains(err.Error(), "no record") {
		t.Errorf("verify of a version the database lacks: %v, want a VerifyError", err)
	}

	// A database that cannot be reached is unavailable, not a verdict.
	db.srv.Close()
	b := module.Version{Path: "example.test/b", Version: "v1.0.0"}
	err = d.verify(ctx, b, lineSlice(sumLines(b.Path, b.Version, "b")))
	if ve := (*VerifyError)(nil); errors.As(err, &ve) || !errors.Is(err, trove.ErrUpstream) {
		t.Errorf("verify with the database down: %v, want unavailable", err)
	}
}

// A database whose log forks (here: replaced by another with the same
// key, as a compromised or rolled-back server would be) is caught against
// the tree Trove kept, by a new client: as after a restart.
func TestUpstreamDBForkDetectedAcrossClients(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testForkDetected(t, newMemSumState()) })
	t.Run("database", func(t *testing.T) { testForkDetected(t, dbtest.Open(t)) })
}

func testForkDetected(t *testing.T, state SumState) {
	skey, vkey := newSumKey(t, "sum.example.test")
	sums := map[string]string{}
	for _, m := range []string{"a", "b", "c"} {
		sums["example.test/"+m+"@v1.0.0"] = sumLines("example.test/"+m, "v1.0.0", m)
	}
	first := newFakeSumDB(t, skey, sums)
	ctx := context.Background()
	d := newTestUpstreamDB(t, vkey, first.srv.URL, state)
	for _, m := range []string{"a", "b", "c"} {
		v := module.Version{Path: "example.test/" + m, Version: "v1.0.0"}
		if err := d.verify(ctx, v, lineSlice(sums[v.Path+"@"+v.Version])); err != nil {
			t.Fatal(err)
		}
	}

	// The forked database has other records (b's lines differ, and d is
	// new) in another order, signed with the same key.
	forked := map[string]string{"example.test/d@v1.0.0": sumLines("example.test/d", "v1.0.0", "d")}
	for k, v := range sums {
		forked[k] = v
	}
	forked["example.test/b@v1.0.0"] = sumLines("example.test/b", "v1.0.0", "evil")
	second := newFakeSumDB(t, skey, forked)
	// Fill the forked log up to the kept tree's size, then ask it for d,
	// which Trove has not looked up before (b's record it would read from
	// its own cache).
	for _, m := range []string{"c", "a", "d"} {
		resp, err := second.srv.Client().Get(second.srv.URL + "/lookup/example.test/" + m + "@v1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	d2 := newTestUpstreamDB(t, vkey, second.srv.URL, state)
	dv := module.Version{Path: "example.test/d", Version: "v1.0.0"}
	err := d2.verify(ctx, dv, lineSlice(forked[dv.Path+"@"+dv.Version]))
	var ve *VerifyError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "misbehaved") {
		t.Fatalf("verify against a forked database: %v, want a VerifyError for misbehaviour", err)
	}
}

func TestUpstreamDBRelay(t *testing.T) {
	skey, vkey := newSumKey(t, "sum.example.test")
	a := sumLines("example.test/a", "v1.0.0", "a")
	db := newFakeSumDB(t, skey, map[string]string{"example.test/a@v1.0.0": a})
	d := newTestUpstreamDB(t, vkey, db.srv.URL, newMemSumState())
	ctx := context.Background()

	look, err := d.relay(ctx, "lookup/example.test/a@v1.0.0")
	if err != nil || !bytes.HasPrefix(look.body, []byte("0\n"+a+"\ngo.sum database tree\n1\n")) || look.immutable {
		t.Fatalf("relay lookup = %+v, %v; want the database's record and signed tree", look, err)
	}
	tile, err := d.relay(ctx, "tile/8/0/000.p/1")
	if err != nil || len(tile.body) != 32 || !tile.immutable {
		t.Fatalf("relay tile = %+v, %v; want one 32-byte hash, immutable", tile, err)
	}
	latest, err := d.relay(ctx, "latest")
	if err != nil || !bytes.HasPrefix(latest.body, []byte("go.sum database tree\n1\n")) {
		t.Fatalf("relay latest = %+v, %v", latest, err)
	}
	for op, want := range map[string]error{
		"lookup/example.test/b@v1.0.0": trove.ErrNotFound, // the database's 404
		"lookup/example.test/a":        trove.ErrInvalid,
		"lookup/Example.test/a@v1.0.0": trove.ErrInvalid, // not case-encoded
		"tile/8/0/../../x":             trove.ErrNotFound,
		"config":                       trove.ErrNotFound,
	} {
		if _, err := d.relay(ctx, op); !errors.Is(err, want) {
			t.Errorf("relay(%q) = %v, want %v", op, err, want)
		}
	}

	// With the database gone, what was relayed is still served.
	db.srv.Close()
	d.latest = nil // as after RelayLatestTTL
	for _, op := range []string{"lookup/example.test/a@v1.0.0", "tile/8/0/000.p/1", "latest"} {
		if _, err := d.relay(ctx, op); err != nil {
			t.Errorf("relay(%q) with the database down: %v, want the kept answer", op, err)
		}
	}
	if _, err := d.relay(ctx, "tile/8/0/001"); !errors.Is(err, trove.ErrUpstream) {
		t.Errorf("relay of an unkept tile with the database down: %v, want unavailable", err)
	}
}

// A database whose trees do not verify with the configured key is not
// relayed.
func TestUpstreamDBRelayRefusesOtherKey(t *testing.T) {
	skey, _ := newSumKey(t, "sum.example.test")
	_, otherVkey := newSumKey(t, "sum.example.test")
	db := newFakeSumDB(t, skey, map[string]string{"example.test/a@v1.0.0": sumLines("example.test/a", "v1.0.0", "a")})
	d := newTestUpstreamDB(t, otherVkey, db.srv.URL, newMemSumState())
	for _, op := range []string{"lookup/example.test/a@v1.0.0", "latest"} {
		if _, err := d.relay(context.Background(), op); !errors.Is(err, trove.ErrUpstream) || !strings.Contains(err.Error(), "verif") {
			t.Errorf("relay(%q) from a database with another key: %v, want refused", op, err)
		}
	}
}
