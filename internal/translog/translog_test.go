package translog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog/memstore"
)

var ctx = context.Background()

func record(i int) []byte {
	e := &Event{Kind: "publish", Ecosystem: "npm", Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0",
		Time: time.Date(2026, 11, 22, 0, 0, i%60, 0, time.UTC), Files: []FileDigest{{Name: "x.tgz", SHA256: strings.Repeat("ab", 32)}}}
	b, err := e.Format()
	if err != nil {
		panic(err)
	}
	return b
}

func fill(t testing.TB, s *memstore.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := Append(ctx, s, record(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendAndProofs(t *testing.T) {
	s := memstore.New()
	var trees []tlog.Tree
	for i := 0; i < 700; i++ {
		id, err := Append(ctx, s, record(i))
		if err != nil || id != int64(i) {
			t.Fatalf("Append #%d = %d, %v", i, id, err)
		}
		tree, err := TreeOf(ctx, s, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tree)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 200; k++ {
		n := 1 + rng.Int64N(700)
		id := rng.Int64N(n)
		p, err := ProveRecord(ctx, s, id, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, n, trees[n-1].Hash, id, tlog.RecordHash(record(int(id)))); err != nil {
			t.Fatalf("inclusion of %d in %d: %v", id, n, err)
		}
		if err := tlog.CheckRecord(p, n, trees[n-1].Hash, id, tlog.RecordHash([]byte("forged\n"))); err == nil {
			t.Fatalf("inclusion proof accepted a forged record")
		}
		old := 1 + rng.Int64N(n)
		tp, err := ProveTree(ctx, s, old, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(tp, n, trees[n-1].Hash, old, trees[old-1].Hash); err != nil {
			t.Fatalf("consistency %d→%d: %v", old, n, err)
		}
	}
	// Several records in one Append.
	first, err := Append(ctx, s, record(1000), record(1001))
	if err != nil || first != 700 {
		t.Fatalf("Append(2 records) = %d, %v", first, err)
	}
	if _, err := Append(ctx, s, []byte("no newline")); err == nil {
		t.Errorf("Append accepted a malformed record")
	}
}

func newLog(t *testing.T, s Store, dir string) (*Log, error) {
	t.Helper()
	signer, vkey, err := LoadOrCreateKey(filepath.Join(dir, "key"), "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	return Open(ctx, s, signer, vkey, filepath.Join(dir, "checkpoint"))
}

func TestSignAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := memstore.New()
	fill(t, s, 10)
	l, err := newLog(t, s, dir)
	if err != nil {
		t.Fatal(err)
	}
	signed := l.Latest()
	if signed.Tree.N != 10 {
		t.Fatalf("signed tree of %d, want 10", signed.Tree.N)
	}
	v, _ := note.NewVerifier(l.VerifierKey())
	n, err := note.Open(signed.Checkpoint, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	origin, tree, err := ParseCheckpoint(n.Text)
	if err != nil || origin != "log.example.test/trove" || tree != signed.Tree {
		t.Errorf("checkpoint = %q, %v, %v", origin, tree, err)
	}
	gs, err := note.Open(signed.GoSumTree, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if gt, err := tlog.ParseTree([]byte(gs.Text)); err != nil || gt != signed.Tree {
		t.Errorf("go.sum tree note = %v, %v", gt, err)
	}
	fill(t, s, 5)
	if s2, err := l.Sign(ctx); err != nil || s2.Tree.N != 15 {
		t.Fatalf("Sign after growth = %v, %v", s2, err)
	}
	// A new process on the same state and database starts.
	if _, err := newLog(t, s, dir); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	// Key files: the signer key is private.
	if fi, err := os.Stat(filepath.Join(dir, "key", "signer.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signer.key mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestOpenRefusesRollbackAndFork(t *testing.T) {
	dir := t.TempDir()
	s := memstore.New()
	fill(t, s, 20)
	if _, err := newLog(t, s, dir); err != nil {
		t.Fatal(err)
	}

	// An older backup of the database: fewer records.
	old := memstore.New()
	fill(t, old, 12)
	if l, err := newLog(t, old, dir); err != nil || !errors.Is(l.Writable(), ErrRollback) {
		t.Errorf("Open(rolled back database) = %v, want a log held read-only by ErrRollback", err)
	}

	// A database with the same size but other contents.
	other := memstore.New()
	for i := 0; i < 20; i++ {
		Append(ctx, other, record(i+100))
	}
	if _, err := newLog(t, other, dir); !errors.Is(err, ErrFork) {
		t.Errorf("Open(forked database) = %v, want ErrFork", err)
	}

	// A running log refuses to sign when its database is swapped for a fork.
	l, err := newLog(t, s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l.store = other
	Append(ctx, other, record(999))
	if _, err := l.Sign(ctx); !errors.Is(err, ErrFork) {
		t.Errorf("Sign over a swapped database = %v, want ErrFork", err)
	}

	// A tampered state file is refused rather than trusted or ignored.
	os.WriteFile(filepath.Join(dir, "checkpoint"), []byte("log.example.test/trove\n1\nAAAA\n\n— x y\n"), 0o644)
	if _, err := newLog(t, s, dir); err == nil {
		t.Errorf("Open with a tampered state file succeeded")
	}
}

func TestTilesServeVerifiableProofs(t *testing.T) {
	s := memstore.New()
	fill(t, s, 600)
	l, err := newLog(t, s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(ctx context.Context, eco, name, version string) ([]int64, error) {
		if eco == "npm" && name == "@acme/x" && version == "1.0.0" {
			return []int64{3, 517, 10_000}, nil // 10000 is not in the tree yet
		}
		return nil, fmt.Errorf("%s %s: %w", name, version, ErrNotFound)
	}
	ts := httptest.NewServer(http.StripPrefix("/log", NewServer(l, s, lookup)))
	defer ts.Close()
	get := func(path string) (int, []byte, http.Header) {
		resp, err := http.Get(ts.URL + "/log/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	code, cp, _ := get("checkpoint")
	if code != 200 || string(cp) != string(l.Latest().Checkpoint) {
		t.Fatalf("checkpoint: %d %q", code, cp)
	}
	tree := l.Latest().Tree
	// A client reading only tiles over HTTP proves inclusion of record 517.
	reader := tlog.TileHashReader(tree, tileReaderFunc(func(tiles []tlog.Tile) ([][]byte, error) {
		var out [][]byte
		for _, tile := range tiles {
			code, b, hdr := get(TilePath(tile))
			if code != 200 {
				return nil, fmt.Errorf("tile %s: %d", TilePath(tile), code)
			}
			if !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
				return nil, fmt.Errorf("tile %s not immutable", TilePath(tile))
			}
			out = append(out, b)
		}
		return out, nil
	}))
	p, err := tlog.ProveRecord(tree.N, 517, reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, tree.N, tree.Hash, 517, tlog.RecordHash(record(517))); err != nil {
		t.Errorf("proof from served tiles: %v", err)
	}
	// Entry bundles: length-prefixed records.
	code, bundle, _ := get("tile/entries/002.p/88")
	if code != 200 {
		t.Fatalf("entry bundle: %d", code)
	}
	want, _ := ReadTile(ctx, s, tlog.Tile{H: 8, L: -1, N: 2, W: 88})
	if string(bundle) != string(want) || int(bundle[0])<<8|int(bundle[1]) != len(record(512)) {
		t.Errorf("entry bundle does not start with record 512")
	}
	for _, bad := range []string{"tile/0/003", "tile/entries/002.p/89", "tile/1/000", "tile/x/000", "tile/0/1", "nothing"} {
		if code, _, _ := get(bad); code != 404 {
			t.Errorf("GET %s = %d, want 404", bad, code)
		}
	}
	if code, _, _ := get("tile/1/000.p/2"); code != 200 {
		t.Errorf("level-1 partial tile within the tree: %d, want 200", code)
	}
	code, body, _ := get("lookup/npm/@acme%2Fx/1.0.0")
	var lr LookupResponse
	if code != 200 || json.Unmarshal(body, &lr) != nil || lr.Checkpoint != string(cp) || len(lr.Records) != 2 ||
		lr.Records[1].ID != 517 || lr.Records[1].Text != string(record(517)) {
		t.Errorf("lookup: %d %s", code, body)
	}
	if code, _, _ := get("lookup/npm/other/1.0.0"); code != 404 {
		t.Errorf("lookup of an unknown version: %d, want 404", code)
	}
	if code, _, _ := get("lookup/npm/x"); code != 400 {
		t.Errorf("malformed lookup: %d, want 400", code)
	}
	resp, _ := http.Post(ts.URL+"/log/checkpoint", "text/plain", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST checkpoint = %d, want 405", resp.StatusCode)
	}
}

type tileReaderFunc func([]tlog.Tile) ([][]byte, error)

func (f tileReaderFunc) Height() int                                   { return TileHeight }
func (f tileReaderFunc) ReadTiles(tiles []tlog.Tile) ([][]byte, error) { return f(tiles) }
func (f tileReaderFunc) SaveTiles(tiles []tlog.Tile, data [][]byte)    {}

func TestParseTilePath(t *testing.T) {
	for path, want := range map[string]tlog.Tile{
		"tile/0/000":            {H: 8, L: 0, N: 0, W: 256},
		"tile/0/x001/234":       {H: 8, L: 0, N: 1234, W: 256},
		"tile/2/005.p/7":        {H: 8, L: 2, N: 5, W: 7},
		"tile/entries/x002/000": {H: 8, L: -1, N: 2000, W: 256},
		"tile/entries/001.p/3":  {H: 8, L: -1, N: 1, W: 3},
	} {
		got, err := ParseTilePath(path)
		if err != nil || got != want {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", path, got, err, want)
		}
		if back := TilePath(got); back != path {
			t.Errorf("TilePath(ParseTilePath(%q)) = %q", path, back)
		}
	}
	for _, bad := range []string{"", "tile", "tile/0", "tile/00/000", "tile/-1/000", "tile/64/000", "tile/data/000", "tile/0/1234",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/8/0/000", "checkpoint", "tile/entries/x000/001", "tile/0/000/"} {
		if tile, err := ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want an error", bad, tile)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/2/x001/234.p/9", "tile/entries/000", "tile/63/x999/999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tile, err := ParseTilePath(path)
		if err != nil {
			return
		}
		if back := TilePath(tile); back != path {
			t.Fatalf("TilePath(ParseTilePath(%q)) = %q: not canonical", path, back)
		}
		Covered(tile, 1<<40) // must not panic or overflow
	})
}

func TestCovered(t *testing.T) {
	for _, tc := range []struct {
		t    tlog.Tile
		n    int64
		want bool
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 1}, 1, true},
		{tlog.Tile{H: 8, L: 0, N: 0, W: 2}, 1, false},
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, 256, true},
		{tlog.Tile{H: 8, L: 0, N: 1, W: 1}, 256, false},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 1}, 256, true},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 1}, 255, false},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 3}, 3, true},
		{tlog.Tile{H: 8, L: 7, N: 1 << 40, W: 1}, 1 << 62, false},
	} {
		if got := Covered(tc.t, tc.n); got != tc.want {
			t.Errorf("covered(%+v, %d) = %v, want %v", tc.t, tc.n, got, tc.want)
		}
	}
}
