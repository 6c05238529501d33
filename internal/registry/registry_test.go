package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// rules is a small ecosystem for testing the core: lowercase names,
// versions "N.N" whose key drops a trailing ".0", look-alikes without '-'.
type rules struct{ eco trove.Ecosystem }

func (r rules) Ecosystem() trove.Ecosystem { return r.eco }

func (rules) ParseName(s string) (trove.Name, error) {
	if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, " /") {
		return "", fmt.Errorf("bad name %q", s)
	}
	return trove.Name(s), nil
}

func (rules) VersionKey(v string) (string, error) {
	if v == "" || strings.ContainsAny(v, " /") {
		return "", fmt.Errorf("bad version %q", v)
	}
	return strings.TrimSuffix(v, ".0"), nil
}

func (rules) Fold(s string) string { return s }

func (rules) Skeleton(n trove.Name) string { return strings.ReplaceAll(string(n), "-", "") }

var ctx = context.Background()

type env struct {
	db    *meta.DB
	blobs *memblob.Store
	reg   *registry.Service
	now   time.Time
}

func newEnv(t *testing.T, scanners ...scan.Scanner) *env {
	t.Helper()
	return newEnvOn(t, dbtest.Open(t), scanners...)
}

func newEnvOn(t *testing.T, db *meta.DB, scanners ...scan.Scanner) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{db: db, blobs: memblob.New(), now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: e.blobs, Scan: scan.NewPipeline(scanners...),
		Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}}, TempDir: filepath.Join(dir, "tmp"), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) user(t *testing.T, name string, admin bool) *access.Principal {
	t.Helper()
	u := &trove.User{Name: name, Email: name + "@example.test", Admin: admin, CreatedAt: e.now}
	// Verified, as an operator's trove admin user add --verified: only
	// verified users may publish.
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertUser(ctx, u, "x"); err != nil {
			return err
		}
		return tx.SetEmailVerified(ctx, u.ID, u.Email, e.now)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &access.Principal{UserID: u.ID, UserName: name, Admin: admin, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
}

func (e *env) upload(t *testing.T, name, version string, files map[string]string) *registry.Upload {
	t.Helper()
	u := &registry.Upload{Ecosystem: "npm", Name: name, Version: version, Metadata: []byte(`{"v":"` + version + `"}`), Tags: []string{"latest"}}
	for fn, content := range files {
		st, err := e.reg.Stage(strings.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		u.Files = append(u.Files, registry.UploadFile{Filename: fn, Kind: "tarball", Content: st})
	}
	return u
}

func (e *env) publish(t *testing.T, who *access.Principal, name, version, content string) *registry.Result {
	t.Helper()
	res, err := e.reg.Publish(ctx, who, e.upload(t, name, version, map[string]string{name + "-" + version + ".tgz": content}))
	if err != nil {
		t.Fatalf("Publish(%s %s): %v", name, version, err)
	}
	return res
}

func read(t *testing.T, e *env, d blob.Digest) string {
	t.Helper()
	rc, err := e.reg.Open(ctx, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func TestPublishThenRead(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	res := e.publish(t, alice, "demo", "1.0", "tarball bytes")
	if res.Release.State != trove.Published || res.Files[0].State != trove.Published {
		t.Errorf("states after publish: release %s, file %s", res.Release.State, res.Files[0].State)
	}
	p, err := e.reg.Project(ctx, "npm", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Releases) != 1 || len(p.Files) != 1 || len(p.Tags) != 1 || p.Tags[0].Tag != "latest" || len(p.Owners) != 1 || p.Owners[0].Name != "alice" {
		t.Errorf("Project = %+v", p)
	}
	f, err := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, e, blob.Digest(f.SHA256)); got != "tarball bytes" {
		t.Errorf("file content = %q", got)
	}
	if f.SHA256 != string(blob.Sum([]byte("tarball bytes"))) {
		t.Errorf("stored sha256 = %s, want the digest of the bytes", f.SHA256)
	}
}

func TestVersionsAreImmutable(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "first")
	for _, v := range []string{"1.0", "1"} { // "1" has the same key as "1.0"
		_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", v, map[string]string{"demo-other.tgz": "second"}))
		if !errors.Is(err, trove.ErrExists) {
			t.Errorf("republish %s = %v, want ErrExists", v, err)
		}
	}
	// A new version may not take an old filename either.
	_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "2.0", map[string]string{"demo-1.0.tgz": "other"}))
	if !errors.Is(err, trove.ErrExists) {
		t.Errorf("new version reusing a filename = %v, want ErrExists", err)
	}
	f, _ := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz")
	if got := read(t, e, blob.Digest(f.SHA256)); got != "first" {
		t.Errorf("content after refused republish = %q, want the original", got)
	}
}

func TestDeletedVersionIsNeverReused(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "first")
	e.publish(t, alice, "demo", "2.0", "second")
	target := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}
	if err := e.reg.Delete(ctx, alice, target, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("File(deleted) = %v, want ErrNotFound", err)
	}
	p, _ := e.reg.Project(ctx, "npm", "demo")
	if len(p.Releases) != 1 || p.Releases[0].Version != "2.0" {
		t.Errorf("visible releases after delete = %v", p.Releases)
	}
	_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0b.tgz": "again"}))
	if !errors.Is(err, trove.ErrExists) || errors.Is(err, trove.ErrInProgress) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("republish of a deleted version = %v, want ErrExists (not in progress) saying it was deleted", err)
	}
	// Deleting the last version hides the package but keeps the name.
	if err := e.reg.Delete(ctx, alice, trove.Target{Ecosystem: "npm", Name: "demo", Version: "2.0"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Project(ctx, "npm", "demo"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Project with no visible release = %v, want ErrNotFound", err)
	}
	bob := e.user(t, "bob", false)
	if _, err := e.reg.Publish(ctx, bob, e.upload(t, "demo", "3.0", map[string]string{"demo-3.0.tgz": "x"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("another user publishing a deleted package's name = %v, want ErrDenied", err)
	}
}

func TestUnpublishWindow(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	admin := e.user(t, "root", true)
	e.publish(t, alice, "demo", "1.0", "x")
	e.now = e.now.Add(registry.DefaultUnpublishWindow + time.Minute)
	target := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}
	if err := e.reg.Delete(ctx, alice, target, ""); !errors.Is(err, access.ErrDenied) {
		t.Errorf("owner deleting after the window = %v, want ErrDenied", err)
	}
	if err := e.reg.Delete(ctx, admin, target, ""); err != nil {
		t.Errorf("admin deleting after the window = %v, want nil", err)
	}
}

func TestConcurrentPublishesOfOneVersion(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	uploads := make([]*registry.Upload, n)
	for i := range uploads {
		uploads[i] = e.upload(t, "race", "1.0", map[string]string{"race-1.0.tgz": fmt.Sprintf("content %d", i)})
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, results[i] = e.reg.Publish(ctx, alice, uploads[i])
		}(i)
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("publishes %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, trove.ErrExists):
			t.Errorf("publish %d: %v, want success or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no publish succeeded")
	}
	f, err := e.reg.File(ctx, "npm", "race", "race-1.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("content %d", winner)
	if got := read(t, e, blob.Digest(f.SHA256)); got != want || f.SHA256 != string(blob.Sum([]byte(want))) {
		t.Errorf("served %q (digest %s), want the winner's %q", got, f.SHA256, want)
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0", "x")

	scoped := *alice
	scoped.Packages = []access.Pattern{"npm:other-*"}
	readOnly := *alice
	readOnly.Actions = []access.Action{access.Read}
	target := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}

	for _, tc := range []struct {
		name string
		who  *access.Principal
		want error
	}{
		{"anonymous", nil, access.ErrUnauthenticated},
		{"not an owner", bob, access.ErrDenied},
		{"token for other packages", &scoped, access.ErrDenied},
		{"read-only token", &readOnly, access.ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.reg.Publish(ctx, tc.who, e.upload(t, "demo", "2.0", map[string]string{"demo-2.0.tgz": "y"})); !errors.Is(err, tc.want) {
				t.Errorf("Publish = %v, want %v", err, tc.want)
			}
			if err := e.reg.Yank(ctx, tc.who, target, "r"); !errors.Is(err, tc.want) {
				t.Errorf("Yank = %v, want %v", err, tc.want)
			}
			if err := e.reg.Deprecate(ctx, tc.who, target, "m"); !errors.Is(err, tc.want) {
				t.Errorf("Deprecate = %v, want %v", err, tc.want)
			}
			if err := e.reg.SetDistTag(ctx, tc.who, target, "beta"); !errors.Is(err, tc.want) {
				t.Errorf("SetDistTag = %v, want %v", err, tc.want)
			}
			if err := e.reg.Delete(ctx, tc.who, target, ""); !errors.Is(err, tc.want) {
				t.Errorf("Delete = %v, want %v", err, tc.want)
			}
		})
	}
	p, _ := e.reg.Project(ctx, "npm", "demo")
	if len(p.Releases) != 1 || p.Releases[0].State != trove.Published || p.Releases[0].Deprecated != "" || len(p.Tags) != 1 {
		t.Errorf("refused changes changed the package: %+v", p.Releases[0])
	}
}

func TestLookalikeNamesRefused(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	e.publish(t, alice, "react-dom", "1.0", "x")
	_, err := e.reg.Publish(ctx, bob, e.upload(t, "reactdom", "1.0", map[string]string{"reactdom-1.0.tgz": "evil"}))
	if !errors.Is(err, access.ErrDenied) || !strings.Contains(err.Error(), "react-dom") {
		t.Errorf("Publish(reactdom) = %v, want ErrDenied naming react-dom", err)
	}
	if e.blobs.Len() != 1 {
		t.Errorf("refused publish stored a blob: %d blobs", e.blobs.Len())
	}
}

func TestBadInputStoresNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	for _, tc := range []struct {
		name string
		up   *registry.Upload
	}{
		{"bad name", e.upload(t, "Bad Name", "1.0", map[string]string{"f.tgz": "x"})},
		{"bad version", e.upload(t, "demo", "1 0", map[string]string{"f.tgz": "x"})},
		{"no files", &registry.Upload{Ecosystem: "npm", Name: "demo", Version: "1.0"}},
		{"unknown ecosystem", &registry.Upload{Ecosystem: "cargo", Name: "demo", Version: "1.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.reg.Publish(ctx, alice, tc.up); !errors.Is(err, trove.ErrInvalid) {
				t.Errorf("Publish = %v, want ErrInvalid", err)
			}
		})
	}
	if e.blobs.Len() != 0 {
		t.Errorf("%d blobs stored by refused uploads", e.blobs.Len())
	}
	if _, err := e.db.Package(ctx, "npm", "demo"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("package row created by refused uploads: %v", err)
	}
}

func TestStageLimit(t *testing.T) {
	e := newEnv(t)
	if _, err := e.reg.Stage(bytes.NewReader(make([]byte, 101)), 100); !errors.Is(err, trove.ErrTooLarge) {
		t.Errorf("Stage(101 bytes, limit 100) = %v, want ErrTooLarge", err)
	}
	st, err := e.reg.Stage(bytes.NewReader(make([]byte, 100)), 100)
	if err != nil {
		t.Fatalf("Stage(100 bytes, limit 100) = %v", err)
	}
	defer st.Close()
	if st.Size() != 100 || st.Digests.SHA256 != blob.Sum(make([]byte, 100)) {
		t.Errorf("staged %d bytes with digest %s", st.Size(), st.Digests.SHA256)
	}
}

// verdictScanner returns one finding with a fixed verdict, or an error.
type verdictScanner struct {
	verdict scan.Verdict
	err     error
	saw     []string
}

func (s *verdictScanner) Name() string { return "test" }
func (s *verdictScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	for _, f := range a.Files {
		b := make([]byte, f.Size)
		f.Content.ReadAt(b, 0)
		s.saw = append(s.saw, f.Name+":"+string(b))
	}
	if s.err != nil {
		return nil, s.err
	}
	return []scan.Finding{{Rule: "r", Message: "found something", Verdict: s.verdict}}, nil
}

func TestScannerVerdicts(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		s := &verdictScanner{verdict: scan.Reject}
		e := newEnv(t, s)
		alice := e.user(t, "alice", false)
		_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "bad"}))
		if !errors.Is(err, trove.ErrRejected) || !strings.Contains(err.Error(), "found something") {
			t.Fatalf("Publish = %v, want ErrRejected with the finding", err)
		}
		if len(s.saw) != 1 || s.saw[0] != "demo-1.0.tgz:bad" {
			t.Errorf("scanner saw %q", s.saw)
		}
		if _, err := e.reg.Project(ctx, "npm", "demo"); !errors.Is(err, trove.ErrNotFound) {
			t.Errorf("rejected release visible: %v", err)
		}
		// Nothing was ever visible, so the name is not alice's: the name
		// and version are free for anyone's fixed upload.
		s.verdict = scan.Publish
		bob := e.user(t, "bob", false)
		e.publish(t, bob, "demo", "1.0", "good")
		if owners, err := e.reg.Owners(ctx, "npm", "demo"); err != nil || len(owners) != 1 || owners[0].Name != "bob" {
			t.Errorf("owners after a rejected upload by alice and bob's publish = %v, %v; want bob alone", owners, err)
		}
	})
	t.Run("hold", func(t *testing.T) {
		e := newEnv(t, &verdictScanner{verdict: scan.Hold})
		alice := e.user(t, "alice", false)
		_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "x"}))
		if !errors.Is(err, trove.ErrHeld) {
			t.Fatalf("Publish = %v, want ErrHeld", err)
		}
		if _, err := e.reg.Project(ctx, "npm", "demo"); !errors.Is(err, trove.ErrNotFound) {
			t.Errorf("held release visible: %v", err)
		}
	})
	t.Run("scanner error", func(t *testing.T) {
		s := &verdictScanner{err: errors.New("engine down")}
		e := newEnv(t, s)
		alice := e.user(t, "alice", false)
		_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "x"}))
		if !errors.Is(err, trove.ErrUnavailable) {
			t.Fatalf("Publish = %v, want ErrUnavailable", err)
		}
		s.err = nil
		s.verdict = scan.Publish
		e.publish(t, alice, "demo", "1.0", "x")
	})
}

func TestAddFilesIsIdempotent(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	up := func(files map[string]string) (*registry.Result, error) {
		u := e.upload(t, "demo", "1.0", files)
		u.AddFiles = true
		return e.reg.Publish(ctx, alice, u)
	}
	if _, err := up(map[string]string{"demo-1.0.tar.gz": "sdist"}); err != nil {
		t.Fatal(err)
	}
	if _, err := up(map[string]string{"demo-1.0-py3-none-any.whl": "wheel"}); err != nil {
		t.Fatal(err)
	}
	res, err := up(map[string]string{"demo-1.0.tar.gz": "sdist"})
	if err != nil || !res.Unchanged {
		t.Errorf("identical re-upload = %+v, %v; want Unchanged", res, err)
	}
	if _, err := up(map[string]string{"demo-1.0.tar.gz": "different"}); !errors.Is(err, trove.ErrExists) {
		t.Errorf("re-upload with other content = %v, want ErrExists", err)
	}
	p, _ := e.reg.Project(ctx, "npm", "demo")
	if len(p.Releases) != 1 || len(p.Files) != 2 {
		t.Errorf("project has %d releases and %d files, want 1 and 2", len(p.Releases), len(p.Files))
	}
}

func TestYankDeprecateTags(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "a")
	e.publish(t, alice, "demo", "2.0", "b")
	v1 := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}
	var changes []string
	e.reg.Watch(func(eco trove.Ecosystem, n trove.Name) { changes = append(changes, string(eco)+":"+string(n)) })

	if err := e.reg.SetDistTag(ctx, alice, v1, "old"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Yank(ctx, alice, v1, "broken"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Deprecate(ctx, alice, v1, "use 2.0"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.SetDistTag(ctx, alice, v1, "older"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("tagging a yanked release = %v, want ErrInvalid", err)
	}
	p, _ := e.reg.Project(ctx, "npm", "demo")
	r := p.Releases[0]
	if r.State != trove.Yanked || r.YankedReason != "broken" || r.Deprecated != "use 2.0" {
		t.Errorf("release after yank+deprecate = %+v", r)
	}
	if _, err := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz"); err != nil {
		t.Errorf("yanked file not downloadable: %v", err)
	}
	if err := e.reg.Unyank(ctx, alice, v1); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Unyank(ctx, alice, v1); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("Unyank of a published release = %v, want ErrInvalid", err)
	}
	if err := e.reg.RemoveDistTag(ctx, alice, v1, "old"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.RemoveDistTag(ctx, alice, v1, "old"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("RemoveDistTag(absent) = %v, want ErrNotFound", err)
	}
	if err := e.reg.Yank(ctx, alice, trove.Target{Ecosystem: "npm", Name: "demo", Version: "9.0"}, ""); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Yank(unknown version) = %v, want ErrNotFound", err)
	}
	if len(changes) != 5 {
		t.Errorf("watchers saw %d changes (%v), want 5", len(changes), changes)
	}
	p, _ = e.reg.Project(ctx, "npm", "demo")
	if p.Package.LastSerial == 0 {
		t.Errorf("LastSerial not advanced")
	}
}

func TestFileCacheFollowsChanges(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "a")
	if _, err := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Delete(ctx, alice, trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.File(ctx, "npm", "demo", "demo-1.0.tgz"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("File after delete = %v, want ErrNotFound (stale cache?)", err)
	}
}

func TestFollowSeesOtherReplicas(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	// A second Service on the same database plays another replica.
	other, err := registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Rules: []registry.Rules{rules{"npm"}}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 10)
	other.Watch(func(eco trove.Ecosystem, n trove.Name) { seen <- string(n) })
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { other.Follow(fctx); close(done) }()
	// Follow starts at the feed's end, whenever its goroutine gets to
	// run: publish until the other replica sees a change, without
	// assuming when that was.
	timeout := time.After(10 * registry.FollowInterval)
	for i := 0; ; i++ {
		e.publish(t, alice, "demo", fmt.Sprintf("1.%d", i), fmt.Sprintf("bytes %d", i))
		select {
		case n := <-seen:
			if n != "demo" {
				t.Errorf("other replica saw a change of %q, want demo", n)
			}
			cancel()
			<-done
			return
		case <-time.After(2 * registry.FollowInterval):
		case <-timeout:
			t.Fatal("other replica did not see the publishes through the change feed")
		}
	}
}

// lastEvent returns the log's size and its newest record, parsed.
func lastEvent(t *testing.T, e *env) (int64, *translog.Event) {
	t.Helper()
	n, err := e.db.LogSize(ctx)
	if err != nil || n == 0 {
		t.Fatalf("LogSize = %d, %v", n, err)
	}
	recs, err := e.db.ReadLogRecords(ctx, n-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := translog.ParseEvent(recs[0])
	if err != nil {
		t.Fatalf("newest record does not parse: %v\n%s", err, recs[0])
	}
	return n, ev
}

func TestEveryChangeIsLogged(t *testing.T) {
	e := newEnv(t, &verdictScanner{verdict: scan.Publish})
	dir := t.TempDir()
	signer, vkey, err := translog.LoadOrCreateKey(dir, "log.example.test")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := translog.Open(ctx, e.db, signer, vkey, filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	e.reg, err = registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Rules: []registry.Rules{rules{"npm"}}, TempDir: t.TempDir(),
		Now: func() time.Time { return e.now }, Log: tl})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	res := e.publish(t, alice, "demo", "1.0", "bytes")
	n, ev := lastEvent(t, e)
	if ev.Kind != "publish" || ev.Name != "demo" || ev.Version != "1.0" || !ev.HasFile("demo-1.0.tgz", res.Files[0].SHA256) ||
		len(ev.Tags) != 1 || ev.Tags[0] != (translog.TagChange{Tag: "latest", Version: "1.0"}) {
		t.Errorf("publish record = %+v", ev)
	}
	if got := tl.Latest().Tree.N; got != n {
		t.Errorf("after Publish returned the signed tree has %d records, want %d (the publish must be provable)", got, n)
	}
	entries, _ := e.db.LogEntries(ctx, "npm", "demo", "1.0")
	if len(entries) != 1 || entries[0].ID != n-1 {
		t.Errorf("LogEntries(demo 1.0) = %+v, want record %d", entries, n-1)
	}
	// The package's first owner became public with its first release, in
	// the record just before it; a second release logs no owner again.
	entries, _ = e.db.LogEntries(ctx, "npm", "demo", "")
	if len(entries) != 1 || entries[0].Kind != "owner" || entries[0].ID != n-2 {
		t.Fatalf("LogEntries(demo) = %+v, want the owner record %d", entries, n-2)
	}
	recs, _ := e.db.ReadLogRecords(ctx, n-2, 1)
	if oev, err := translog.ParseEvent(recs[0]); err != nil || len(oev.Owners) != 1 || oev.Owners[0] != (translog.OwnerChange{Add: true, User: "alice"}) {
		t.Errorf("owner record = %+v, %v; want owner add alice", oev, err)
	}
	v1 := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}
	steps := []struct {
		do   func() error
		kind string
		chk  func(*translog.Event) bool
	}{
		{func() error { return e.reg.Yank(ctx, alice, v1, "oops") }, "yank", func(ev *translog.Event) bool { return *ev.Reason == "oops" }},
		{func() error { return e.reg.Unyank(ctx, alice, v1) }, "unyank", func(ev *translog.Event) bool { return ev.Version == "1.0" }},
		{func() error { return e.reg.Deprecate(ctx, alice, v1, "old") }, "deprecate", func(ev *translog.Event) bool { return *ev.Message == "old" }},
		{func() error { return e.reg.SetDistTag(ctx, alice, v1, "stable") }, "tag", func(ev *translog.Event) bool {
			return len(ev.Tags) == 1 && ev.Tags[0] == translog.TagChange{Tag: "stable", Version: "1.0"}
		}},
		{func() error { return e.reg.RemoveDistTag(ctx, alice, v1, "stable") }, "tag", func(ev *translog.Event) bool {
			return len(ev.Tags) == 1 && ev.Tags[0] == translog.TagChange{Tag: "stable"}
		}},
		{func() error { return e.reg.AddOwner(ctx, alice, "npm", "demo", "bob") }, "owner", func(ev *translog.Event) bool {
			return ev.Version == "" && len(ev.Owners) == 1 && ev.Owners[0] == translog.OwnerChange{Add: true, User: "bob"}
		}},
		{func() error { return e.reg.RemoveOwner(ctx, alice, "npm", "demo", "bob") }, "owner", func(ev *translog.Event) bool {
			return len(ev.Owners) == 1 && ev.Owners[0] == translog.OwnerChange{User: "bob"}
		}},
		{func() error { return e.reg.Delete(ctx, alice, v1, "") }, "delete", func(ev *translog.Event) bool {
			return len(ev.Tags) == 1 && ev.Tags[0].Tag == "latest" && ev.Tags[0].Version == ""
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.kind, err)
		}
		m, ev := lastEvent(t, e)
		if m != n+1 || ev.Kind != st.kind || !st.chk(ev) {
			t.Errorf("%s: log size %d (want %d), record %+v", st.kind, m, n+1, ev)
		}
		if tl.Latest().Tree.N != m {
			t.Errorf("%s: signed tree lags the log", st.kind)
		}
		n = m
	}
	// Refused and no-op changes log nothing.
	e.reg.Publish(ctx, bob, e.upload(t, "demo", "2.0", map[string]string{"demo-2.0.tgz": "x"}))
	e.reg.Deprecate(ctx, alice, trove.Target{Ecosystem: "npm", Name: "demo", Version: "9.9"}, "x")
	if m, _ := lastEvent(t, e); m != n {
		t.Errorf("refused changes appended %d records", m-n)
	}
	e.publish(t, alice, "demo", "1.1", "more bytes")
	if m, ev := lastEvent(t, e); m != n+1 || ev.Kind != "publish" {
		t.Errorf("second release: log size %d (want %d), last record %+v; want no second owner record", m, n+1, ev)
	}
}

func TestRejectedUploadIsNotLogged(t *testing.T) {
	e := newEnv(t, &verdictScanner{verdict: scan.Reject})
	alice := e.user(t, "alice", false)
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "x"})); err == nil {
		t.Fatal("rejected upload published")
	}
	if n, _ := e.db.LogSize(ctx); n != 0 {
		t.Errorf("a rejected upload appended %d records", n)
	}
}
