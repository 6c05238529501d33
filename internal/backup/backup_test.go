package backup

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/metatest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

var (
	ctx = context.Background()
	now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
)

// A source is a registry to back up: a database with files whose blobs
// are in a store, and a log signed with a key.
type source struct {
	db     *meta.DB
	blobs  *memblob.Store
	signer note.Signer
	vkey   string
	log    *translog.Log
	dir    string
}

func newDB(t *testing.T) *meta.DB {
	t.Helper()
	db, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSource(t *testing.T, name string, files int) *source {
	t.Helper()
	s := &source{db: newDB(t), blobs: memblob.New(), dir: t.TempDir()}
	var err error
	s.signer, s.vkey, err = translog.LoadOrCreateKey(s.dir, "example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s.publish(t, name, files)
	s.log, err = translog.Open(ctx, s.db, s.signer, s.vkey, filepath.Join(s.dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publish adds a package with n files, a deleted one, their blobs and log records.
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
			if err := s.addFile(ctx, tx, p, fmt.Sprintf("1.%d", i), state); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *source) addFile(ctx context.Context, tx *meta.Tx, p *trove.Package, version string, state trove.State) error {
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

func (s *source) checkpoints() []Checkpoint {
	return []Checkpoint{{Source: "test", Note: s.log.Latest().Checkpoint}}
}

func (s *source) backup(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(ctx, &buf, Options{DB: s.db, Blobs: s.blobs, VerifierKey: s.vkey, Checkpoints: s.checkpoints(), Now: now}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(t *testing.T, b []byte) *Archive {
	t.Helper()
	a, err := NewArchive(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *source) restore(t *testing.T, b []byte, o RestoreOptions) (*meta.DB, *Report, error) {
	t.Helper()
	if o.DB == nil {
		o.DB = newDB(t)
	}
	if o.Blobs == nil {
		o.Blobs = s.blobs
	}
	rep, err := Restore(ctx, open(t, b), o)
	return o.DB, rep, err
}

func TestRoundTrip(t *testing.T) {
	s := newSource(t, "demo", 3)
	b := s.backup(t)
	a := open(t, b)
	m := a.Manifest
	if m.Format != 1 || m.Schema != meta.LatestSchema() || !m.Created.Equal(now) || m.Log.Records != 4 || m.Log.Signed != 4 ||
		m.Log.Origin != "example.test/log" || m.Blobs.Count != 8 || m.Blobs.Required != 6 || m.Blobs.Missing != 1 {
		t.Errorf("manifest = %+v", m)
	}
	if tb, _ := m.table("files"); tb.Rows != 4 {
		t.Errorf("manifest counts %d files, want 4", tb.Rows)
	}
	if a.has(signerName) {
		t.Errorf("the backup holds the signing key, which was not asked for")
	}
	db, rep, err := s.restore(t, b, RestoreOptions{VerifyBlobs: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Log != s.log.Latest().Tree || rep.Signed != 4 || rep.Blobs != 8 || rep.Missing != 2 || rep.MissingNeeds != 0 || rep.Newer != nil {
		t.Errorf("report = %+v", rep)
	}
	if !bytes.Equal(metatest.DumpAll(t, s.db), metatest.DumpAll(t, db)) {
		t.Errorf("the restored database differs from the source")
	}
	// The restored database serves a log that opens with the same key.
	if _, err := translog.Open(ctx, db, s.signer, s.vkey, filepath.Join(s.dir, "checkpoint")); err != nil {
		t.Errorf("opening the restored log under the source's checkpoint: %v", err)
	}
}

func TestSigningKeyOnlyWhenAsked(t *testing.T) {
	s := newSource(t, "demo", 1)
	var buf bytes.Buffer
	m, err := Write(ctx, &buf, Options{DB: s.db, Blobs: s.blobs, VerifierKey: s.vkey, Checkpoints: s.checkpoints(), SigningKey: []byte("PRIVATE+KEY"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, buf.Bytes())
	got, err := a.small(signerName)
	if err != nil || string(got) != "PRIVATE+KEY" || !m.Log.SigningKey {
		t.Errorf("signer part = %q, %v; manifest says %v", got, err, m.Log.SigningKey)
	}
}

// TestWriteOnline backs up while transactions append to the log and add
// files: every table of the backup must come from one moment.
func TestWriteOnline(t *testing.T) {
	s := newSource(t, "demo", 2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.publish(t, fmt.Sprintf("busy-%d", i), 2)
			if _, err := s.log.Sign(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		var buf bytes.Buffer
		cps := s.checkpoints()
		if _, err := Write(ctx, &buf, Options{DB: s.db, Blobs: s.blobs, VerifierKey: s.vkey, Checkpoints: cps, Now: now}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.restore(t, buf.Bytes(), RestoreOptions{}); err != nil {
			t.Fatalf("restoring a backup made during writes: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestWriteRefusesRolledBackLog(t *testing.T) {
	s := newSource(t, "demo", 3)
	behind := newSource(t, "demo", 1) // the same history, shorter
	_, err := Write(ctx, io.Discard, Options{DB: behind.db, Blobs: s.blobs, VerifierKey: s.vkey, Checkpoints: s.checkpoints(), Now: now})
	if !errors.Is(err, ErrBehind) {
		t.Errorf("backing up a log behind its checkpoint = %v, want ErrBehind", err)
	}
	forked := newSource(t, "fork", 5)
	_, err = Write(ctx, io.Discard, Options{DB: forked.db, Blobs: s.blobs, VerifierKey: s.vkey, Checkpoints: s.checkpoints(), Now: now})
	if !errors.Is(err, translog.ErrFork) {
		t.Errorf("backing up a log forked from its checkpoint = %v, want ErrFork", err)
	}
	_, err = Write(ctx, io.Discard, Options{DB: s.db, Blobs: s.blobs, VerifierKey: forked.vkey, Checkpoints: s.checkpoints(), Now: now})
	if err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("backing up with a checkpoint of another key = %v, want a verification error", err)
	}
}

func TestRestoreRefusesNonEmpty(t *testing.T) {
	s := newSource(t, "demo", 1)
	target := newDB(t)
	if err := target.Tx(ctx, func(tx *meta.Tx) error { return tx.UnlockSignIn(ctx, "x", now) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.restore(t, s.backup(t), RestoreOptions{DB: target}); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "signin_unlocks has 1 rows") {
		t.Errorf("restoring into a database with data = %v, want ErrNotEmpty naming the table", err)
	}
}

func TestRestoreMissingBlobs(t *testing.T) {
	s := newSource(t, "demo", 3)
	b := s.backup(t)
	store := memblob.New() // holds all but the first file's content, and a short one
	var lost, short blob.Digest
	err := s.db.Snapshot(ctx, func(sn *meta.Snapshot) error {
		return sn.BlobRefs(ctx, func(r meta.BlobRef) error {
			rc, err := s.blobs.Open(ctx, blob.Digest(r.Digest), 0)
			if errors.Is(err, blob.ErrNotFound) {
				return nil
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			switch {
			case r.Role == "content" && lost == "":
				lost = blob.Digest(r.Digest)
				return nil
			case r.Role == "content" && short == "":
				short = blob.Digest(r.Digest)
				store.Damage(short, data[:1])
				return nil
			}
			return blob.Put(ctx, store, bytes.NewReader(data), blob.Digest(r.Digest))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	o := RestoreOptions{Blobs: store, Missing: func(b *Blob, problem string) { reported = append(reported, b.Digest+" "+problem) }}
	db, _, err := s.restore(t, b, o)
	if !errors.Is(err, ErrMissingBlobs) {
		t.Fatalf("restore with missing blobs = %v, want ErrMissingBlobs", err)
	}
	if n, _ := db.CountRows(ctx, "files"); n != 0 {
		t.Errorf("a refused restore left %d files in the database", n)
	}
	text := strings.Join(reported, "\n")
	if !strings.Contains(text, string(lost)+" missing") || !strings.Contains(text, string(short)+" 1 bytes") {
		t.Errorf("reported:\n%s\nwant %s missing and %s short", text, lost, short)
	}
	o.AllowMissingBlobs = true
	reported = nil
	db, rep, err := s.restore(t, b, o)
	if err != nil || rep.MissingNeeds != 2 || len(reported) != 4 {
		t.Errorf("restore allowing missing blobs = %+v, %v; reported %q", rep, err, reported)
	}
	if n, _ := db.CountRows(ctx, "files"); n != 4 {
		t.Errorf("restore allowing missing blobs left %d files, want 4", n)
	}
}

func TestRestoreVerifyBlobs(t *testing.T) {
	s := newSource(t, "demo", 1)
	b := s.backup(t)
	var d blob.Digest
	s.db.BlobRefs(ctx, func(r meta.BlobRef) error {
		if r.Role == "content" && r.State == "published" {
			d = blob.Digest(r.Digest)
		}
		return nil
	})
	size, _ := s.blobs.Stat(ctx, d)
	s.blobs.Damage(d, bytes.Repeat([]byte("x"), int(size))) // same size, other bytes
	if _, _, err := s.restore(t, b, RestoreOptions{}); err != nil {
		t.Errorf("restore checking sizes only = %v, want success", err)
	}
	if _, _, err := s.restore(t, b, RestoreOptions{VerifyBlobs: true}); !errors.Is(err, ErrMissingBlobs) {
		t.Errorf("restore re-hashing blobs = %v, want ErrMissingBlobs", err)
	}
}

func TestRestoreCheckpointsKept(t *testing.T) {
	s := newSource(t, "demo", 2)
	b := s.backup(t)
	s.publish(t, "later", 2)
	newer, err := s.log.Sign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := s.restore(t, b, RestoreOptions{Checkpoints: []Checkpoint{{Source: "the state", Note: newer.Checkpoint}}})
	if err != nil || rep.Newer == nil || rep.NewerSize != newer.Tree.N || rep.Newer.Source != "the state" {
		t.Errorf("restore under a newer checkpoint = %+v, %v; want it reported", rep, err)
	}

	other := newSource(t, "other", 1) // another history, signed with the same key
	otherLog, err := translog.Open(ctx, other.db, s.signer, s.vkey, filepath.Join(t.TempDir(), "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := s.restore(t, b, RestoreOptions{Checkpoints: []Checkpoint{{Source: "the state", Note: otherLog.Latest().Checkpoint}}})
	if !errors.Is(err, translog.ErrFork) {
		t.Errorf("restore of a log forked from a kept checkpoint = %v, want ErrFork", err)
	}
	if n, _ := db.LogSize(ctx); n != 0 {
		t.Errorf("a refused restore left %d log records", n)
	}
	if _, _, err := s.restore(t, b, RestoreOptions{VerifierKey: other.vkey}); err == nil || !strings.Contains(err.Error(), "log key") {
		t.Errorf("restore into a data directory with another log key = %v, want a refusal", err)
	}
}

// rewrite rebuilds an archive with edit applied to each part; with
// rehash, the manifest's sizes and hashes are made to match (a careful
// forger), otherwise it is left as it was.
func rewrite(t *testing.T, b []byte, rehash bool, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = edit(f.Name, data)
		names = append(names, f.Name)
	}
	if rehash {
		m, err := parseManifest(parts[manifestName])
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Parts {
			sum := sha256.Sum256(parts[p.Name])
			m.Parts[i].Bytes, m.Parts[i].SHA256 = int64(len(parts[p.Name])), hex.EncodeToString(sum[:])
		}
		parts[manifestName] = jsonOf(t, m)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, name := range names {
		w, _ := zw.Create(name)
		w.Write(parts[name])
	}
	zw.Close()
	return out.Bytes()
}

func TestRestoreRefusesTampering(t *testing.T) {
	s := newSource(t, "demo", 3)
	b := s.backup(t)
	replace := func(part, old, new string) func(string, []byte) []byte {
		return func(name string, data []byte) []byte {
			if name == part {
				return bytes.Replace(data, []byte(old), []byte(new), 1)
			}
			return data
		}
	}
	for _, tc := range []struct {
		name   string
		rehash bool
		edit   func(string, []byte) []byte
		want   string
	}{
		{"table changed", false, replace("tables/files.jsonl", "published", "yanked"), "the manifest lists"},
		{"manifest counts", false, replace(manifestName, `"rows": 4`, `"rows": 5`), "rows"},
		{"format", false, replace(manifestName, `"format": 1`, `"format": 2`), "format 2"},
		{"schema", false, replace(manifestName, fmt.Sprintf(`"schema_version": %d`, meta.LatestSchema()), `"schema_version": 99`), "newer than this trove"},
		{"record changed", true, replace("tables/log_records.jsonl", "publish pypi demo 1.1", "publish pypi demo 6.6"), "corrupt"},
		{"hash changed", true, func(name string, data []byte) []byte {
			if name != "tables/log_hashes.jsonl" {
				return data
			}
			lines := bytes.Split(data, []byte("\n"))
			lines[1] = []byte(`[0,"` + strings.Repeat("00", 32) + `"]`)
			return bytes.Join(lines, []byte("\n"))
		}, "corrupt"},
		{"checkpoint of another key", true, func(name string, data []byte) []byte {
			if name == checkpointName {
				other := newSource(t, "demo", 3)
				return other.log.Latest().Checkpoint
			}
			return data
		}, "does not verify"},
		{"rewritten unchanged", true, func(name string, data []byte) []byte { return data }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := rewrite(t, b, tc.rehash, tc.edit)
			if tc.want == "" {
				if _, _, err := s.restore(t, bad, RestoreOptions{}); err != nil {
					t.Errorf("restore of a rewritten but unchanged backup = %v", err)
				}
				return
			}
			a, err := NewArchive(bytes.NewReader(bad), int64(len(bad)))
			if err == nil {
				db := newDB(t)
				_, err = Restore(ctx, a, RestoreOptions{DB: db, Blobs: s.blobs})
				if n, _ := db.CountRows(ctx, "files"); n != 0 {
					t.Errorf("a refused restore left %d files", n)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("restore = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestArchiveLayout(t *testing.T) {
	s := newSource(t, "demo", 1)
	b := s.backup(t)
	for _, tc := range []struct {
		name string
		edit func(zw *zip.Writer, name string, data []byte)
		want string
	}{
		{"duplicate part", func(zw *zip.Writer, name string, data []byte) {
			if name == blobsName {
				w, _ := zw.Create(name)
				w.Write(data)
			}
		}, "twice"},
		{"unlisted part", func(zw *zip.Writer, name string, data []byte) {
			if name == blobsName {
				w, _ := zw.Create("tables/extra.jsonl")
				w.Write(data)
			}
		}, "does not list"},
		{"path outside", func(zw *zip.Writer, name string, data []byte) {
			if name == blobsName {
				w, _ := zw.Create("../../etc/passwd")
				w.Write(data)
			}
		}, "insecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			var out bytes.Buffer
			zw := zip.NewWriter(&out)
			for _, f := range zr.File {
				rc, _ := f.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				w, _ := zw.Create(f.Name)
				w.Write(data)
				tc.edit(zw, f.Name, data)
			}
			zw.Close()
			if _, err := NewArchive(bytes.NewReader(out.Bytes()), int64(out.Len())); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewArchive = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewArchive(bytes.NewReader([]byte("not a zip")), 9); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewArchive(not a zip) = %v, want ErrInvalid", err)
	}
}

func jsonOf(t *testing.T, m *Manifest) []byte {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
