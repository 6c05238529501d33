package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog/memstore"
)

// memState is a StateStore in memory.
type memState struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemState() *memState { return &memState{m: map[string][]byte{}} }

func (s *memState) ReadState(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	if !ok {
		return nil, fmt.Errorf("state %s: %w", name, ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (s *memState) WriteState(ctx context.Context, name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = bytes.Clone(data)
	return nil
}

// openWith opens a log with the test key under dir.
func openWith(t *testing.T, s Store, dir string, o Options) (*Log, error) {
	t.Helper()
	signer, vkey, err := LoadOrCreateKey(filepath.Join(dir, "key"), "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	return OpenWith(ctx, s, signer, vkey, o)
}

// prefix returns a store holding the first n records of s.
func prefix(t *testing.T, s *memstore.Store, n int64) *memstore.Store {
	t.Helper()
	recs, err := s.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	out := memstore.New()
	if _, err := Append(ctx, out, recs...); err != nil && n > 0 {
		t.Fatal(err)
	}
	return out
}

func TestStateMirrorKeepsRecordsAndCheckpoint(t *testing.T) {
	dir, st := t.TempDir(), newMemState()
	s := memstore.New()
	fill(t, s, 13)
	l, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st})
	if err != nil {
		t.Fatal(err)
	}
	Append(ctx, s, record(100), record(101), record(102))
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	m := NewStateMirror(st)
	cp, err := m.Checkpoint(ctx)
	if err != nil || !bytes.Equal(cp, l.Latest().Checkpoint) {
		t.Fatalf("state checkpoint = %q, %v; want the latest", cp, err)
	}
	got, err := m.Records(ctx, 0, 16)
	want, _ := s.ReadLogRecords(ctx, 0, 16)
	if err != nil || len(got) != 16 {
		t.Fatalf("Records(0, 16) = %d records, %v", len(got), err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d from the state store differs", i)
		}
	}
	if _, err := m.Records(ctx, 10, 17); !errors.Is(err, ErrNotFound) {
		t.Errorf("Records beyond the copy = %v, want ErrNotFound", err)
	}
	for name, b := range st.m {
		if len(b) > 1<<20 {
			t.Errorf("state object %s has %d bytes", name, len(b))
		}
	}
}

// restored returns a log over the first n records of a log of 20 that
// signed all 20: the state file is restored with the database (it holds
// the tree of n), the state store is not.
func restored(t *testing.T, n int64) (*memstore.Store, *memstore.Store, *memState, string) {
	t.Helper()
	dir, st := t.TempDir(), newMemState()
	s := memstore.New()
	fill(t, s, int(n))
	if _, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st}); err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	for i := n; i < 20; i++ {
		Append(ctx, s, record(int(i)))
	}
	if _, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "checkpoint"), saved, 0o644)
	return s, prefix(t, s, n), st, dir
}

func TestBehindIsReadOnlyAndRecovers(t *testing.T) {
	full, old, st, dir := restored(t, 12)
	l, err := openWith(t, old, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st})
	if err != nil {
		t.Fatalf("OpenWith(restored database) = %v, want a read-only log", err)
	}
	var behind *BehindError
	if err := l.Writable(); !errors.As(err, &behind) || !errors.Is(err, ErrRollback) || behind.Records != 12 || behind.Signed != 20 {
		t.Fatalf("Writable() = %v, want BehindError{12, 20}", err)
	}
	for _, want := range []string{"the transparency log has 12 records, but this server published a checkpoint of 20", "trove log recover --from URL"} {
		if !strings.Contains(behind.Error(), want) {
			t.Errorf("BehindError = %q, want %q in it", behind, want)
		}
	}
	if l.Latest().Tree.N != 20 {
		t.Errorf("Latest() = tree of %d, want the published 20", l.Latest().Tree.N)
	}
	Append(ctx, old, record(500))
	if _, err := l.Sign(ctx); !errors.Is(err, ErrRollback) {
		t.Errorf("Sign while behind = %v, want ErrRollback", err)
	}
	old = prefix(t, old, 12)
	l, _ = openWith(t, old, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st})

	rec, err := l.Missing(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := full.ReadLogRecords(ctx, 12, 8)
	if rec.First != 12 || len(rec.Records) != 8 || rec.From != "the blob store" || rec.Checkpoint.Tree.N != 20 {
		t.Fatalf("Missing = first %d, %d records from %s, checkpoint %d", rec.First, len(rec.Records), rec.From, rec.Checkpoint.Tree.N)
	}
	for i := range want {
		if !bytes.Equal(rec.Records[i], want[i]) {
			t.Fatalf("recovered record %d differs", 12+i)
		}
	}
	published := l.Latest().Checkpoint
	Append(ctx, old, rec.Records...)
	s, err := l.Sign(ctx)
	if err != nil || !bytes.Equal(s.Checkpoint, published) || l.Writable() != nil {
		t.Fatalf("Sign after recovery = %v, %v (writable: %v); want the published checkpoint, unchanged", s, err, l.Writable())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "checkpoint")); !bytes.Equal(b, published) {
		t.Errorf("the state file was not brought up to the published checkpoint")
	}
	if rec, err := l.Missing(ctx, nil); err != nil || len(rec.Records) != 0 {
		t.Errorf("Missing after recovery = %v, %v; want nothing", rec, err)
	}
}

func TestForkIsRefusedNamingTheRecord(t *testing.T) {
	full, _, st, dir := restored(t, 12)
	// Same first 12 records, then a different history.
	forked := prefix(t, full, 12)
	for i := 0; i < 10; i++ {
		Append(ctx, forked, record(700+i))
	}
	_, err := openWith(t, forked, dir, Options{StatePath: filepath.Join(dir, "checkpoint"), State: st})
	var fork *ForkError
	if !errors.As(err, &fork) || !errors.Is(err, ErrFork) || fork.Record != 12 {
		t.Fatalf("OpenWith(forked database) = %v, want a ForkError at record 12", err)
	}
	if !bytes.Equal(fork.Database, record(700)) || !bytes.Equal(fork.Log, record(12)) || !strings.Contains(err.Error(), "record 12 differs") {
		t.Errorf("ForkError = %v", err)
	}

	// A shorter database that differs inside the prefix: Missing finds it.
	short := prefix(t, full, 5)
	Append(ctx, short, record(800))
	l, err := openWith(t, short, dir, Options{State: st})
	if err != nil || l.Writable() == nil {
		t.Fatalf("OpenWith(short forked database) = %v; want read-only", err)
	}
	if _, err := l.Missing(ctx, nil); !errors.As(err, &fork) || fork.Record != 5 {
		t.Errorf("Missing over a forked prefix = %v, want a ForkError at record 5", err)
	}

	// Two different checkpoints of one size, both signed: evidence.
	other := memstore.New()
	for i := 0; i < 20; i++ {
		Append(ctx, other, record(900+i))
	}
	d2 := t.TempDir()
	os.MkdirAll(filepath.Join(d2, "key"), 0o700)
	for _, f := range []string{"signer.key", "verifier.key"} {
		b, _ := os.ReadFile(filepath.Join(dir, "key", f))
		os.WriteFile(filepath.Join(d2, "key", f), b, 0o600)
	}
	if _, err := openWith(t, other, d2, Options{StatePath: filepath.Join(d2, "checkpoint")}); err != nil {
		t.Fatal(err)
	}
	if _, err := openWith(t, prefix(t, full, 12), d2, Options{StatePath: filepath.Join(d2, "checkpoint"), State: st}); !errors.Is(err, ErrFork) ||
		!strings.Contains(err.Error(), "two different checkpoints of 20 records") {
		t.Errorf("OpenWith(two checkpoints of one size) = %v, want ErrFork", err)
	}
}

// copyLog copies a served log's checkpoint and entry bundles into dir, as
// a mirror does.
func copyLog(t *testing.T, l *Log, s Store, dir string) {
	t.Helper()
	n := l.Latest().Tree.N
	write := func(path string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("checkpoint", l.Latest().Checkpoint)
	for k := int64(0); k<<TileHeight < n; k++ {
		tile := tlog.Tile{H: TileHeight, L: -1, N: k, W: int(min(n-k<<TileHeight, 1<<TileHeight))}
		b, err := ReadTile(ctx, s, tile)
		if err != nil {
			t.Fatal(err)
		}
		write(TilePath(tile), b)
	}
}

func TestMissingFromMirrors(t *testing.T) {
	dir := t.TempDir()
	s := memstore.New()
	fill(t, s, 300)
	l, err := openWith(t, s, dir, Options{StatePath: filepath.Join(dir, "checkpoint")})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.StripPrefix("/log", NewServer(l, s, nil)))
	defer web.Close()
	mirrorDir := t.TempDir()
	copyLog(t, l, s, mirrorDir)
	// A mirror that copied a later tree: it has no bundle .p/44 of tile 1.
	later := t.TempDir()
	Append(ctx, s, record(300), record(301))
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	copyLog(t, l, s, later)

	for _, loc := range []string{web.URL + "/log", mirrorDir, later} {
		m, err := NewMirror(loc)
		if err != nil {
			t.Fatal(err)
		}
		old := prefix(t, s, 100)
		// The state file says 300; the mirror holds the newest checkpoint.
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "key"), 0o700)
		for _, f := range []string{"signer.key", "verifier.key"} {
			b, _ := os.ReadFile(filepath.Join(dir, "key", f))
			os.WriteFile(filepath.Join(d, "key", f), b, 0o600)
		}
		lo, err := openWith(t, old, d, Options{Mirrors: []Source{m}})
		if err != nil || lo.Writable() == nil {
			t.Fatalf("%s: OpenWith = %v, writable %v; want read-only", loc, err, lo.Writable())
		}
		rec, err := lo.Missing(ctx, nil)
		if err != nil {
			t.Fatalf("%s: Missing: %v", loc, err)
		}
		want := lo.Latest().Tree.N
		if rec.First != 100 || int64(len(rec.Records)) != want-100 || rec.From != m.String() {
			t.Fatalf("%s: Missing = first %d, %d records from %s; want 100, %d", loc, rec.First, len(rec.Records), rec.From, want-100)
		}
	}
	if _, err := NewMirror("ftp://x/log"); err == nil {
		t.Errorf("NewMirror(ftp://…) succeeded")
	}
	if _, err := NewMirror(filepath.Join(dir, "nothing")); err == nil {
		t.Errorf("NewMirror(missing directory) succeeded")
	}
}
