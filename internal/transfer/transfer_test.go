package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

var (
	ctx = context.Background()
	now = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
)

// states is a memblob as the log's state store (its not-found error
// translated, as cmd/trove does).
type states struct{ s *memblob.Store }

func (b states) ReadState(ctx context.Context, name string) ([]byte, error) {
	data, err := b.s.ReadState(ctx, name)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", translog.ErrNotFound, err)
	}
	return data, err
}

func (b states) WriteState(ctx context.Context, name string, data []byte) error {
	return b.s.WriteState(ctx, name, data)
}

// A source is an install to move: files with their blobs, a deleted one
// whose blobs are gone, and a signed log kept in the blob store.
type source struct {
	db     *meta.DB
	blobs  *memblob.Store
	signer note.Signer
	vkey   string
	log    *translog.Log
	// digests of the published files' contents
	digests []blob.Digest
}

func newSource(t *testing.T, files int) *source {
	t.Helper()
	s := &source{db: dbtest.SQLite(t), blobs: memblob.New()}
	var err error
	s.signer, s.vkey, err = translog.LoadOrCreateKey(t.TempDir(), "example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s.publish(t, "demo", files)
	s.log, err = translog.OpenWith(ctx, s.db, s.signer, s.vkey, translog.Options{State: states{s.blobs}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publish adds a package with n published files and a deleted one.
func (s *source) publish(t *testing.T, name string, n int) {
	t.Helper()
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		p := &trove.Package{Ecosystem: "pypi", Name: trove.Name(name), DisplayName: name, CreatedAt: now}
		if err := tx.InsertPackage(ctx, p); err != nil {
			return err
		}
		for i := range n + 1 {
			state := trove.Published
			if i == n {
				state = trove.Deleted
			}
			if err := s.addFile(tx, p, fmt.Sprintf("1.%d", i), state); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *source) addFile(tx *meta.Tx, p *trove.Package, version string, state trove.State) error {
	r := &trove.Release{PackageID: p.ID, Version: version, VersionKey: version, State: state, Metadata: []byte(`{}`), CreatedAt: now}
	if err := tx.InsertRelease(ctx, r); err != nil {
		return err
	}
	content := []byte(fmt.Sprintf("wheel %s %s", p.Name, version))
	md := []byte("Metadata-Version: 2.1\nName: " + string(p.Name) + "\nVersion: " + version + "\n")
	d, mdd := blob.Sum(content), blob.Sum(md)
	if state != trove.Deleted {
		if err := blob.Put(ctx, s.blobs, bytes.NewReader(content), d); err != nil {
			return err
		}
		if err := blob.Put(ctx, s.blobs, bytes.NewReader(md), mdd); err != nil {
			return err
		}
		s.digests = append(s.digests, d)
	}
	f := &trove.File{ReleaseID: r.ID, PackageID: p.ID, Filename: fmt.Sprintf("%s-%s-py3-none-any.whl", p.Name, version), Kind: "wheel",
		State: state, Size: int64(len(content)), SHA256: string(d), SHA512: "x", SHA1: "x", Blake2b256: "x", MD5: "x",
		MetadataSHA256: string(mdd), CreatedAt: now}
	if err := tx.InsertFile(ctx, f); err != nil {
		return err
	}
	_, err := translog.Append(ctx, tx, []byte(fmt.Sprintf("publish pypi %s %s %s\n", p.Name, version, d)))
	return err
}

func (s *source) options(to Side) Options {
	return Options{From: Side{DB: s.db, Blobs: s.blobs}, To: to, VerifierKey: s.vkey, Checkpoint: s.log.Latest().Checkpoint}
}

func check(t *testing.T, v *Verification, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got := strings.Join(v.Problems, "\n")
	if len(want) == 0 && got != "" {
		t.Errorf("Verify found problems in a faithful copy:\n%s", got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("Verify problems lack %q:\n%s", w, got)
		}
	}
	if (len(want) == 0) != (v.Err() == nil) {
		t.Errorf("Verification.Err() = %v with problems %q", v.Err(), v.Problems)
	}
}

// TestCopy copies into a new database of each engine and verifies it.
func TestCopy(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			src := newSource(t, 3)
			dst := Side{DB: e.Open(t), Blobs: memblob.New()}
			var lines []string
			o := src.options(dst)
			o.Progress = func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }
			rep, err := Copy(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			// 4 contents and 4 metadata blobs; the deleted file's are gone.
			if rep.Blobs != 8 || rep.BlobsCopied != 6 || len(rep.Skipped) != 2 || rep.Log.N != 4 || rep.States != 2 {
				t.Errorf("Copy = %+v, want 8 blobs, 6 copied, 2 skipped, a log of 4, 2 state objects", rep)
			}
			if dst.Blobs.(*memblob.Store).Len() != 6 {
				t.Errorf("the target holds %d blobs, want 6", dst.Blobs.(*memblob.Store).Len())
			}
			for table, want := range map[string]int64{"files": 4, "releases": 4, "log_records": 4} {
				if n, err := dst.DB.CountRows(ctx, table); err != nil || n != want {
					t.Errorf("target %s: %d rows, %v; want %d", table, n, err, want)
				}
			}
			if !strings.Contains(strings.Join(lines, "\n"), "table files: 4 rows copied") {
				t.Errorf("progress lacks the files table:\n%s", strings.Join(lines, "\n"))
			}
			v, err := Verify(ctx, o)
			check(t, v, err)
			if v.Blobs != 8 || v.Log != 4 || len(v.Tables) != len(meta.DumpTables()) {
				t.Errorf("Verify = %+v", v)
			}
			// The target is no longer empty.
			if _, err := Copy(ctx, o); !errors.Is(err, ErrNotEmpty) {
				t.Errorf("second Copy = %v, want ErrNotEmpty", err)
			}
		})
	}
}

// TestCopyDryRun changes nothing.
func TestCopyDryRun(t *testing.T) {
	src := newSource(t, 2)
	dst := Side{DB: dbtest.SQLite(t), Blobs: memblob.New()}
	o := src.options(dst)
	o.DryRun = true
	rep, err := Copy(ctx, o)
	if err != nil || rep.BlobsCopied != 4 || rep.States != 2 || rep.Tables[0].Table != "users" {
		t.Fatalf("dry run = %+v, %v", rep, err)
	}
	if n, _ := dst.DB.CountRows(ctx, "files"); n != 0 || dst.Blobs.(*memblob.Store).Len() != 0 {
		t.Errorf("the dry run wrote %d rows, %d blobs", n, dst.Blobs.(*memblob.Store).Len())
	}
	if _, err := dst.Blobs.ReadState(ctx, translog.CheckpointState); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the dry run wrote the checkpoint: %v", err)
	}
}

// TestCopyResumes: a copy that stopped on a missing blob leaves the
// target database empty; once the blob is back, the next run skips the
// blobs copied before.
func TestCopyResumes(t *testing.T) {
	src := newSource(t, 3)
	lost := src.digests[2]
	content, _ := readAll(src.blobs, lost)
	src.blobs.Delete(ctx, lost)
	dst := Side{DB: dbtest.SQLite(t), Blobs: memblob.New()}
	o := src.options(dst)
	_, err := Copy(ctx, o)
	if !errors.Is(err, ErrMissingBlobs) {
		t.Fatalf("Copy with a required blob missing = %v, want ErrMissingBlobs", err)
	}
	if n, _ := dst.DB.CountRows(ctx, "files"); n != 0 {
		t.Errorf("the failed copy loaded %d files", n)
	}
	copied := dst.Blobs.(*memblob.Store).Len()
	if copied == 0 {
		t.Fatal("the failed copy copied no blob before stopping")
	}
	if err := blob.Put(ctx, src.blobs, bytes.NewReader(content), lost); err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.BlobsCopied != 6-int64(copied) {
		t.Errorf("the resumed copy copied %d blobs, want %d (the others were there)", rep.BlobsCopied, 6-copied)
	}
	v, err := Verify(ctx, o)
	check(t, v, err)
}

// TestVerifyCatchesDifferences: a blob, a row or a state object changed
// in the target, or the source changed after the copy.
func TestVerifyCatchesDifferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, src *source, dst Side)
		want []string
	}{
		{"blob", func(t *testing.T, src *source, dst Side) {
			dst.Blobs.(*memblob.Store).Damage(src.digests[1], []byte("wheel demo 1.X"))
		}, []string{"blob " + "%d1" + ": its bytes in the target's blob store do not match its sha256", "demo-1.1-py3-none-any.whl"}},
		{"missing blob", func(t *testing.T, src *source, dst Side) {
			dst.Blobs.Delete(ctx, src.digests[0])
		}, []string{"blob %d0: missing from the target's blob store"}},
		{"row", func(t *testing.T, src *source, dst Side) {
			err := dst.DB.Tx(ctx, func(tx *meta.Tx) error { return tx.SetDeprecated(ctx, 2, "changed") })
			if err != nil {
				t.Fatal(err)
			}
		}, []string{"table releases: 4 rows in the source, 4 in the target; row 2 differs first"}},
		{"state object", func(t *testing.T, src *source, dst Side) {
			dst.Blobs.WriteState(ctx, "log-entries-0", []byte{0, 1, 'x'})
		}, []string{"state object log-entries-0: record 0 differs"}},
		{"source moved on", func(t *testing.T, src *source, dst Side) {
			src.publish(t, "later", 1)
		}, []string{"table packages: 2 rows in the source, 1 in the target; row 2 differs first", "the target's log (4 records"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, 3)
			dst := Side{DB: dbtest.SQLite(t), Blobs: memblob.New()}
			o := src.options(dst)
			if _, err := Copy(ctx, o); err != nil {
				t.Fatal(err)
			}
			tc.edit(t, src, dst)
			var want []string
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "%d0", string(src.digests[0]))
				want = append(want, strings.ReplaceAll(w, "%d1", string(src.digests[1])))
			}
			v, err := Verify(ctx, o)
			check(t, v, err, want...)
		})
	}
}

// TestCopyRefusesForkedSource: a source database whose log differs from
// the checkpoint its server published is not copied.
func TestCopyRefusesForkedSource(t *testing.T) {
	src := newSource(t, 2)
	other := newSource(t, 3)
	forged, err := note.Sign(&note.Note{Text: string(translog.FormatCheckpoint("example.test/log", other.log.Latest().Tree))}, src.signer)
	if err != nil {
		t.Fatal(err)
	}
	o := src.options(Side{DB: dbtest.SQLite(t), Blobs: memblob.New()})
	o.Checkpoint = forged
	if _, err := Copy(ctx, o); !errors.Is(err, translog.ErrRollback) {
		t.Errorf("Copy of a source behind its checkpoint = %v, want ErrRollback", err)
	}
	src.publish(t, "more", 1) // now 4 records, unlike the other log's 4
	if _, err := Copy(ctx, o); !errors.Is(err, translog.ErrFork) {
		t.Errorf("Copy of a forked source = %v, want ErrFork", err)
	}
	o.Checkpoint = other.log.Latest().Checkpoint // signed by another key
	if _, err := Copy(ctx, o); err == nil || !strings.Contains(err.Error(), "verifying the source's checkpoint") {
		t.Errorf("Copy with another log's checkpoint = %v", err)
	}
}

func readAll(s blob.Store, d blob.Digest) ([]byte, error) {
	rc, err := s.Open(ctx, d, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	return b.Bytes(), err
}
