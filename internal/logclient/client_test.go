package logclient

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/logclient/logtest"
	"github.com/trove-dev/trove/internal/translog"
)

func digest(i int) string { return fmt.Sprintf("%064x", i+1) }

// fill appends n publish records of npm packages pkg-<i>@1.0.0.
func fill(l *logtest.Log, from, n int) {
	if n == 0 {
		return
	}
	var evs []*translog.Event
	for i := from; i < from+n; i++ {
		evs = append(evs, logtest.Publish("npm", fmt.Sprintf("pkg-%d", i), "1.0.0", fmt.Sprintf("pkg-%d-1.0.0.tgz", i), digest(i)))
	}
	l.Append(evs...)
}

// A fixture is a client of a log served over HTTP, with its state dir.
type fixture struct {
	t      testing.TB
	srv    *httptest.Server
	dir    string
	stderr *bytes.Buffer
}

// serve serves h as a log and returns a fixture with a fresh state dir.
func serve(t testing.TB, h http.Handler) *fixture {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, dir: t.TempDir(), stderr: &bytes.Buffer{}}
}

// client returns a client with the fixture's state, against h if not nil.
func (f *fixture) client(vkey string) *Client {
	f.t.Helper()
	c, err := New(&HTTPOps{Base: f.srv.URL + "/", Dir: f.dir, Stderr: f.stderr}, vkey)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) stored() []byte {
	b, _ := os.ReadFile(filepath.Join(f.dir, CheckpointFile))
	return b
}

// swap is an http.Handler whose target a test can change: the same URL
// serving first an honest log and then a lying one.
type swap struct{ h http.Handler }

func (s *swap) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func npmQuery(i int) Query {
	return Query{Ecosystem: "npm", Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0"}
}

func TestLookupProvesInclusion(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 300) // more than one tile
	f := serve(t, l)
	c := f.client(vkey)
	for _, i := range []int{0, 1, 255, 256, 299} {
		rel, err := c.Lookup(npmQuery(i))
		if err != nil {
			t.Fatalf("Lookup(pkg-%d) = %v", i, err)
		}
		if rel.Checkpoint.Tree != l.Tree() {
			t.Errorf("Lookup(pkg-%d) proved against %v, want %v", i, rel.Checkpoint.Tree, l.Tree())
		}
		want := fmt.Sprintf("pkg-%d-1.0.0.tgz", i)
		if _, ok := rel.FindFile(want, digest(i)); !ok || len(rel.Records) != 1 {
			t.Errorf("Lookup(pkg-%d): files %v, want %s", i, rel.Files(), want)
		}
		if _, ok := rel.FindFile("", digest(i+1)); ok {
			t.Errorf("Lookup(pkg-%d) found another package's digest", i)
		}
	}
	if !bytes.Equal(f.stored(), l.Checkpoint()) {
		t.Errorf("stored checkpoint = %q, want %q", f.stored(), l.Checkpoint())
	}
	if _, err := c.Lookup(Query{Ecosystem: "npm", Name: "nope", Version: "1.0.0"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(unknown) = %v, want ErrNotFound", err)
	}
}

func TestReleaseState(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	l.Append(logtest.Publish("pypi", "demo", "1.0", "demo-1.0.tar.gz", digest(1)))
	l.Append(logtest.Change("yank", "pypi", "demo", "1.0", "broken"))
	l.Append(logtest.Publish("pypi", "demo", "2.0", "demo-2.0.tar.gz", digest(2)))
	l.Append(logtest.Change("yank", "pypi", "demo", "2.0", "oops"))
	l.Append(logtest.Change("unyank", "pypi", "demo", "2.0", ""))
	l.Append(logtest.Publish("pypi", "demo", "3.0", "demo-3.0.tar.gz", digest(3)))
	l.Append(logtest.Change("delete", "pypi", "demo", "3.0", "malware"))
	c := serve(t, l).client(vkey)
	for _, tc := range []struct {
		version string
		want    State
	}{
		{"1.0", State{Yanked: true, YankReason: "broken"}},
		{"2.0", State{}},
		{"3.0", State{Deleted: true, DeleteKind: "delete", Reason: "malware"}},
	} {
		rel, err := c.Lookup(Query{Ecosystem: "pypi", Name: "demo", Version: tc.version})
		if err != nil {
			t.Fatal(err)
		}
		if got := rel.State(); got != tc.want {
			t.Errorf("State(%s) = %+v, want %+v", tc.version, got, tc.want)
		}
	}
}

func TestLookupRefusesOtherVersions(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 3)
	// A lying server answers every lookup with pkg-1's records.
	lie := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/lookup/") {
			r.URL.Path, r.URL.RawPath = "/lookup/npm/pkg-1/1.0.0", ""
		}
		l.ServeHTTP(w, r)
	})
	c := serve(t, lie).client(vkey)
	if _, err := c.Lookup(npmQuery(2)); err == nil || !strings.Contains(err.Error(), "not the version asked") {
		t.Errorf("Lookup(pkg-2) answered with pkg-1's record = %v, want an error", err)
	}
	key := func(v string) (string, error) {
		for strings.HasSuffix(v, ".0") {
			v = strings.TrimSuffix(v, ".0")
		}
		return v, nil
	}
	if _, err := c.Lookup(Query{Ecosystem: "npm", Name: "pkg-1", Version: "1.0", VersionKey: key}); err != nil {
		t.Errorf("Lookup with an equal version key = %v", err)
	}
}

func TestSecondRunProvesConsistency(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 10)
	f := serve(t, l)
	if _, err := f.client(vkey).Latest(); err != nil {
		t.Fatal(err)
	}
	fill(l, 10, 500)
	cp, err := f.client(vkey).Latest()
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if cp.Tree.N != 510 || !bytes.Equal(f.stored(), l.Checkpoint()) {
		t.Errorf("after growth: tree %d, stored %q", cp.Tree.N, f.stored())
	}
	// Same tree again.
	if _, err := f.client(vkey).Lookup(npmQuery(3)); err != nil {
		t.Fatal(err)
	}
	if f.stderr.Len() != 0 {
		t.Errorf("security errors on an honest log:\n%s", f.stderr)
	}
}

// forked returns a log signed with the same key as the honest one whose
// first common records equal the honest log's and the rest differ.
func forked(t *testing.T, skey, vkey string, common, extra int) *logtest.Log {
	fork := logtest.New(t, skey, vkey)
	fill(fork, 0, common)
	for i := range extra {
		fork.Append(logtest.Publish("npm", fmt.Sprintf("evil-%d", i), "6.6.6", "evil.tgz", digest(666)))
	}
	return fork
}

func TestClientFork(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		honest, common, fork int // records: honest log, then a fork sharing common of them
	}{
		{"same size", 20, 15, 5},
		{"extended", 20, 15, 300},
		{"extended across tiles", 300, 280, 100},
		{"first record differs", 1, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skey, vkey := logtest.GenerateKey(t)
			honest := logtest.New(t, skey, vkey)
			fill(honest, 0, tc.honest)
			h := &swap{honest}
			f := serve(t, h)
			if _, err := f.client(vkey).Latest(); err != nil {
				t.Fatal(err)
			}
			before := f.stored()

			fork := forked(t, skey, vkey, tc.common, tc.fork)
			h.h = fork
			_, err := f.client(vkey).Latest()
			var se *SecurityError
			if !errors.As(err, &se) || !errors.Is(err, ErrSecurity) {
				t.Fatalf("Latest on a forked log = %v, want a *SecurityError", err)
			}
			if !bytes.Equal(se.Stored, honest.Checkpoint()) || !bytes.Equal(se.New, fork.Checkpoint()) {
				t.Errorf("SecurityError heads = %q, %q; want the honest and the forked checkpoint", se.Stored, se.New)
			}
			report := f.stderr.String()
			indent := func(b []byte) string {
				return strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n\t"), "\n\t\n", "\n\n")
			}
			for _, want := range []string{"SECURITY ERROR", indent(honest.Checkpoint()), indent(fork.Checkpoint())} {
				if !strings.Contains(report, want) {
					t.Errorf("security report lacks %q:\n%s", want, report)
				}
			}
			if !bytes.Equal(f.stored(), before) {
				t.Errorf("stored checkpoint changed after a fork:\n%s", f.stored())
			}
			// A lookup through the fork fails the same way.
			if _, err := f.client(vkey).Lookup(Query{Ecosystem: "npm", Name: "evil-0", Version: "6.6.6"}); !errors.Is(err, ErrSecurity) {
				t.Errorf("Lookup through the fork = %v, want ErrSecurity", err)
			}
			// Back to the honest log: all is well.
			h.h = honest
			if _, err := f.client(vkey).Latest(); err != nil {
				t.Errorf("Latest back on the honest log = %v", err)
			}
		})
	}
}

func TestClientRollback(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	honest := logtest.New(t, skey, vkey)
	fill(honest, 0, 40)
	h := &swap{honest}
	f := serve(t, h)
	if _, err := f.client(vkey).Latest(); err != nil {
		t.Fatal(err)
	}
	before := f.stored()

	// The server restored an old backup: the same first 30 records.
	old := logtest.New(t, skey, vkey)
	fill(old, 0, 30)
	h.h = old
	_, err := f.client(vkey).Latest()
	var se *SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "rollback") {
		t.Fatalf("Latest on a rolled-back log = %v, want a rollback *SecurityError", err)
	}
	if !bytes.Equal(f.stored(), before) {
		t.Errorf("stored checkpoint changed after a rollback")
	}

	// A mirror that lags but still serves the newer tiles is consistent:
	// the smaller checkpoint is proved a prefix, and the stored one stays.
	lag := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/checkpoint" {
			w.Write(old.Checkpoint())
			return
		}
		honest.ServeHTTP(w, r)
	})
	h.h = lag
	cp, err := f.client(vkey).Latest()
	if err != nil || cp.Tree.N != 30 {
		t.Fatalf("Latest on a lagging mirror = %v, %v; want the tree of 30", cp, err)
	}
	if !bytes.Equal(f.stored(), before) {
		t.Errorf("stored checkpoint replaced by an older one")
	}
	// A smaller tree that is not a prefix is a fork.
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/checkpoint" {
			w.Write(forked(t, skey, vkey, 20, 10).Checkpoint())
			return
		}
		honest.ServeHTTP(w, r)
	})
	if _, err := f.client(vkey).Latest(); !errors.As(err, &se) || !strings.Contains(se.Reason, "fork") {
		t.Errorf("Latest on a smaller fork = %v, want a fork *SecurityError", err)
	}
}

func TestCheckpointSignature(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 5)
	_, otherKey := logtest.GenerateKey(t) // same name, another key
	_, otherName, err := note.GenerateKey(rand.Reader, "other.example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint with another origin, signed by a key named like the log.
	s2, v2, err := note.GenerateKey(rand.Reader, logtest.Origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(s2)
	elsewhere, err := note.Sign(&note.Note{Text: string(translog.FormatCheckpoint("elsewhere", l.Tree()))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(l.Checkpoint(), []byte("\n5\n"), []byte("\n6\n"), 1)
	for _, tc := range []struct {
		name string
		key  *string
		body func() []byte
		want string
	}{
		{"wrong key", &otherKey, l.Checkpoint, "verifying checkpoint signature"},
		{"wrong key name", &otherName, l.Checkpoint, "verifying checkpoint signature"},
		{"tampered", &vkey, func() []byte { return tampered }, "verifying checkpoint signature"},
		{"unsigned", &vkey, func() []byte { return translog.FormatCheckpoint(logtest.Origin, l.Tree()) }, "verifying checkpoint signature"},
		{"wrong origin", &v2, func() []byte { return elsewhere }, "not \"" + logtest.Origin + "\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body()
			f := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
			_, err := f.client(*tc.key).Latest()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Latest = %v, want an error containing %q", err, tc.want)
			}
			if f.stored() != nil {
				t.Errorf("stored an unverified checkpoint")
			}
		})
	}
	if _, err := New(&HTTPOps{}, "not a key"); err == nil {
		t.Errorf("New accepted a malformed key")
	}
}

func TestRecordNotInTree(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 10)
	forged := logtest.Publish("npm", "pkg-3", "1.0.0", "pkg-3-1.0.0.tgz", digest(666))
	text, _ := forged.Format()
	for _, tc := range []struct {
		name string
		id   int64
	}{{"forged text", 3}, {"beyond the tree", 10}, {"negative id", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			lie := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/lookup/") {
					json.NewEncoder(w).Encode(translog.LookupResponse{Checkpoint: string(l.Checkpoint()),
						Records: []translog.LookupRecord{{ID: tc.id, Text: string(text)}}})
					return
				}
				l.ServeHTTP(w, r)
			})
			_, err := serve(t, lie).client(vkey).Lookup(npmQuery(3))
			if !errors.Is(err, ErrNotProved) {
				t.Errorf("Lookup of a record not in the tree = %v, want ErrNotProved", err)
			}
		})
	}
}

func TestTamperedTile(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 20)
	h := &swap{l}
	f := serve(t, h)
	if _, err := f.client(vkey).Latest(); err != nil {
		t.Fatal(err)
	}
	before := f.stored()
	fill(l, 20, 20)
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(r.URL.Path, "/tile/0/") && len(body) > 0 {
			body[len(body)/2] ^= 1
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
	if _, err := f.client(vkey).Latest(); !errors.Is(err, ErrSecurity) {
		t.Errorf("Latest with a tampered tile = %v, want ErrSecurity", err)
	}
	if !bytes.Equal(f.stored(), before) {
		t.Errorf("stored checkpoint changed despite a tampered tile")
	}
	if _, err := f.client(vkey).Lookup(npmQuery(1)); !errors.Is(err, ErrSecurity) {
		t.Errorf("Lookup with a tampered tile = %v, want ErrSecurity", err)
	}
	// A server that fails to serve tiles is an error, not evidence.
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tile/") {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		l.ServeHTTP(w, r)
	})
	if _, err := f.client(vkey).Latest(); err == nil || errors.Is(err, ErrSecurity) {
		t.Errorf("Latest with tiles unavailable = %v, want a plain error", err)
	}
}

// TestProofsRandomSizes proves random records and tree growths over
// random sizes, through the tiles the server serves.
func TestProofsRandomSizes(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	h := &swap{l}
	f := serve(t, h)
	rng := mrand.New(mrand.NewPCG(1, 2))
	size := 0
	for range 12 {
		grow := 1 + rng.IntN(200)
		fill(l, size, grow)
		size += grow
		c := f.client(vkey)
		cp, err := c.Latest()
		if err != nil || cp.Tree.N != int64(size) {
			t.Fatalf("Latest at %d = %v, %v", size, cp, err)
		}
		for range 5 {
			id := rng.Int64N(int64(size))
			if err := c.ProveRecord(cp, id, l.Record(id)); err != nil {
				t.Errorf("ProveRecord(%d of %d) = %v", id, size, err)
			}
			if err := c.ProveRecord(cp, id, append(l.Record(id), 'x')); !errors.Is(err, ErrNotProved) {
				t.Errorf("ProveRecord(%d of %d, wrong text) = %v, want ErrNotProved", id, size, err)
			}
		}
	}
}

func TestAudit(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 300)
	l.Append(logtest.Change("yank", "npm", "pkg-1", "1.0.0", "bad"))
	h := &swap{l}
	f := serve(t, h)
	a, err := f.client(vkey).Audit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Checkpoint.Tree.N != 301 || a.Kinds["publish"] != 300 || a.Kinds["yank"] != 1 || a.Ecosystems["npm"] != 301 {
		t.Errorf("Audit = %+v, %v", a.Checkpoint.Tree, a.Kinds)
	}
	// A server whose entry bundles differ from the tree it signed.
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(r.URL.Path, "/tile/entries/001") {
			body = bytes.Replace(body, []byte("pkg-260"), []byte("pkg-666"), 1)
		}
		w.Write(body)
	})
	if _, err := f.client(vkey).Audit(nil); !errors.Is(err, ErrSecurity) {
		t.Errorf("Audit of tampered entries = %v, want ErrSecurity", err)
	}
}

// TestAuditSizes: the audit recomputes the root of trees of every shape
// (one record, powers of two and their neighbours, several bundles)
// while keeping only the hashes later records and the root still need.
func TestAuditSizes(t *testing.T) {
	for _, n := range []int{1, 2, 3, 255, 256, 257, 511, 1000, 1024, 1025} {
		skey, vkey := logtest.GenerateKey(t)
		l := logtest.New(t, skey, vkey)
		fill(l, 0, n)
		a, err := serve(t, l).client(vkey).Audit(nil)
		if err != nil {
			t.Fatalf("Audit of %d records: %v", n, err)
		}
		if a.Checkpoint.Tree.N != int64(n) || a.Kinds["publish"] != n {
			t.Errorf("Audit of %d records = %+v, %v", n, a.Checkpoint.Tree, a.Kinds)
		}
	}
}

// BenchmarkAudit audits a log of 20,000 records over HTTP; its bytes per
// operation show that memory does not hold every hash of the log.
func BenchmarkAudit(b *testing.B) {
	skey, vkey := logtest.GenerateKey(b)
	l := logtest.New(b, skey, vkey)
	fill(l, 0, 20_000)
	f := serve(b, l)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.client(vkey).Audit(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSplitBundle(t *testing.T) {
	for _, bad := range [][]byte{{0}, {0, 3, 'a'}} {
		if _, err := splitBundle(bad); err == nil {
			t.Errorf("splitBundle(%q) accepted a truncated bundle", bad)
		}
	}
	got, err := splitBundle([]byte{0, 1, 'a', 0, 0, 0, 2, 'b', 'c'})
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 || string(got[2]) != "bc" {
		t.Errorf("splitBundle = %q, %v", got, err)
	}
}

var _ tlog.TileReader = (*tileReader)(nil)

func FuzzSplitBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 0})
	f.Add([]byte{0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := splitBundle(data)
		if err != nil {
			return
		}
		var again []byte
		for _, r := range recs {
			again = append(again, byte(len(r)>>8), byte(len(r)))
			again = append(again, r...)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("splitBundle(%q) = %q does not round-trip", data, recs)
		}
	})
}

// TestAuditPrivateRecords: a log whose private records are served as
// placeholders audits, counting them; a placeholder giving another leaf
// than the tree's is a security error; the full text, once revealed (a
// lookup by someone who may read the package), proves against the leaf.
func TestAuditPrivateRecords(t *testing.T) {
	skey, vkey := logtest.GenerateKey(t)
	l := logtest.New(t, skey, vkey)
	fill(l, 0, 100)
	secret := logtest.Publish("npm", "@acme/secret", "1.0.0", "secret-1.0.0.tgz", digest(999))
	secret.Salt = translog.NewSalt()
	id := l.Append(secret)
	fill(l, 100, 200)
	h := &swap{l}
	f := serve(t, h)
	a, err := f.client(vkey).Audit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Checkpoint.Tree.N != 301 || a.Private != 1 || a.Kinds["publish"] != 300 || a.Ecosystems["npm"] != 300 {
		t.Errorf("Audit = tree %d, %d private, %v %v; want 301 records, 1 private, 300 publish", a.Checkpoint.Tree.N, a.Private, a.Kinds, a.Ecosystems)
	}

	// The full text proves against the leaf the placeholder gave.
	rel, err := f.client(vkey).Lookup(Query{Ecosystem: "npm", Name: "@acme/secret", Version: "1.0.0"})
	if err != nil || len(rel.Records) != 1 || rel.Records[0].ID != id || rel.Records[0].Event.Salt != secret.Salt {
		t.Fatalf("Lookup(private release) = %+v, %v", rel, err)
	}

	// A server whose placeholder gives another leaf.
	fake := translog.Placeholder(tlog.RecordHash([]byte("something else\n")))
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(r.URL.Path, "/tile/entries/000") {
			real := translog.Redact(l.Record(id))
			if !bytes.Contains(body, real) {
				t.Fatalf("bundle 0 does not hold record %d's placeholder", id)
			}
			body = bytes.Replace(body, real, fake, 1)
		}
		w.Write(body)
	})
	if _, err := f.client(vkey).Audit(nil); !errors.Is(err, ErrSecurity) {
		t.Errorf("Audit with a tampered placeholder = %v, want ErrSecurity", err)
	}
	// A malformed placeholder is an error naming the record.
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(r.URL.Path, "/tile/entries/000") {
			body = bytes.Replace(body, []byte("trove-private 1\nleaf "), []byte("trove-private 1\nleaf!"), 1)
		}
		w.Write(body)
	})
	if _, err := f.client(vkey).Audit(nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("record %d: malformed private record placeholder", id)) {
		t.Errorf("Audit with a malformed placeholder = %v", err)
	}
}
