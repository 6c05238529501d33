package s3blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/blobtest"
	"github.com/trove-dev/trove/internal/blob/s3blob"
	"github.com/trove-dev/trove/internal/blob/s3blob/s3test"
)

func config(srv *s3test.Server, bucket, prefix string) s3blob.Config {
	return s3blob.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: prefix, PathStyle: true,
		Credentials: s3blob.Credentials{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey},
		Timeout:     10 * time.Second, RedirectTTL: time.Minute}
}

func newStore(t *testing.T, srv *s3test.Server, prefix string) *s3blob.Store {
	t.Helper()
	s, err := s3blob.New(context.Background(), config(srv, srv.Bucket(t), prefix))
	if err != nil {
		t.Fatalf("s3blob.New: %v\n%s", err, srv.Log())
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t, srv, "") })
}

func TestConformanceWithPrefix(t *testing.T) {
	srv := s3test.Start(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t, srv, "tenant/a/") })
}

// keys lists every key in a bucket.
func keys(t *testing.T, srv *s3test.Server, bucket string) []string {
	t.Helper()
	var out []string
	for o := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}

func TestLayoutAndPrefix(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	a, err := s3blob.New(ctx, config(srv, bucket, "a/"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s3blob.New(ctx, config(srv, bucket, "b/"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("one trove's blob")
	d := blob.Sum(data)
	if err := blob.Put(ctx, a, bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteState(ctx, "checkpoint", []byte("tree")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("another prefix's store: Stat = %v, want ErrNotFound", err)
	}
	if _, err := b.ReadState(ctx, "checkpoint"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("another prefix's store: ReadState = %v, want ErrNotFound", err)
	}
	want := []string{"a/sha256/" + string(d[:2]) + "/" + string(d), "a/state/checkpoint"}
	if got := keys(t, srv, bucket); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bucket holds %q, want %q (probes deleted, nothing else)", got, want)
	}
}

// A failed or aborted upload never reaches the bucket.
func TestFailedUploadsLeaveNothing(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	spool := t.TempDir()
	c := config(srv, bucket, "")
	c.SpoolDir = spool
	s, err := s3blob.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 1<<20)
	w, _ := s.Create(ctx)
	w.Write(data)
	if err := w.Commit(ctx, blob.Sum([]byte("other"))); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Commit(wrong) = %v", err)
	}
	w, _ = s.Create(ctx)
	w.Write(data)
	entries, _ := os.ReadDir(spool)
	if len(entries) != 0 {
		t.Errorf("spool directory holds %d names during an upload; want the file unlinked at once", len(entries))
	}
	w.Abort()
	if got := keys(t, srv, bucket); len(got) != 0 {
		t.Errorf("bucket holds %q after a mismatched and an aborted upload, want nothing", got)
	}
}

func TestServerVerifiesUploads(t *testing.T) {
	s := newStore(t, s3test.Start(t), "")
	if !s.ServerVerifies() {
		t.Errorf("ServerVerifies() = false: versitygw accepted bytes whose SHA-256 differs from the one signed")
	}
}

func TestPresignGet(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, "p/")
	ctx := context.Background()
	data := []byte("a package's bytes")
	d := blob.Sum(data)
	if err := blob.Put(ctx, s, bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, d, blob.PresignOptions{ContentType: "application/zip", Filename: "v1.0.0.zip"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u, srv.SecretKey) {
		t.Fatalf("presigned URL contains the secret key")
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET presigned = %d %q, want 200 %q", resp.StatusCode, got, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		t.Errorf("Content-Type = %q, want application/zip", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=v1.0.0.zip` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	// Signed for GET only.
	if resp, err := http.Head(u); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("HEAD of a URL presigned for GET = 200; want it refused")
		}
	}
}

func TestPresignNeverForMissingOrQuarantined(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, "")
	ctx := context.Background()
	data := []byte("found damaged")
	d := blob.Sum(data)
	if _, err := s.PresignGet(ctx, d, blob.PresignOptions{}); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("PresignGet(missing) = %v, want ErrNotFound", err)
	}
	if err := blob.Put(ctx, s, bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, d, blob.PresignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PresignGet(ctx, d, blob.PresignOptions{}); !errors.Is(err, blob.ErrDamaged) {
		t.Errorf("PresignGet(quarantined) = %v, want ErrDamaged", err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("a URL handed out before the quarantine still serves the damaged bytes")
	}
}

func TestPresignOff(t *testing.T) {
	srv := s3test.Start(t)
	c := config(srv, srv.Bucket(t), "")
	c.RedirectTTL = 0
	s, err := s3blob.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PresignGet(context.Background(), blob.Sum(nil), blob.PresignOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PresignGet with redirects off = %v, want ErrUnsupported", err)
	}
	// The wrappers do not hide the ability, nor invent it.
	for _, w := range []blob.Store{blob.NewCache(s, 1<<20, 1<<10)} {
		if _, err := blob.PresignGet(context.Background(), w, blob.Sum(nil), blob.PresignOptions{}); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%T over a store with redirects off: %v, want ErrUnsupported", w, err)
		}
	}
}

func TestNewChecksTheBucket(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.Bucket(t)
	bad := func(mod func(*s3blob.Config), want string) {
		t.Helper()
		c := config(srv, bucket, "")
		mod(&c)
		_, err := s3blob.New(ctx, c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New = %v, want an error containing %q", err, want)
		}
		if err != nil && strings.Contains(err.Error(), srv.SecretKey) {
			t.Errorf("error shows the secret key: %v", err)
		}
	}
	bad(func(c *s3blob.Config) { c.Bucket = "no-such-bucket" }, "does not exist")
	bad(func(c *s3blob.Config) { c.Credentials.SecretKey = "wrong" }, "secret key does not match")
	bad(func(c *s3blob.Config) { c.Credentials.AccessKey = "nobody" }, "access key")
	bad(func(c *s3blob.Config) { c.Endpoint = "http://s3.example.test" }, "plain http is only allowed to a loopback")
	bad(func(c *s3blob.Config) { c.Prefix = "../x/" }, "s3 prefix")
	bad(func(c *s3blob.Config) { c.Prefix = "noslash" }, "s3 prefix")
}

func TestCredentialsNeverPrinted(t *testing.T) {
	c := s3blob.Config{Endpoint: "https://s3.example.test", Credentials: s3blob.Credentials{AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI-secret"}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "s3", c, "creds", c.Credentials)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()} {
		if strings.Contains(s, "wJalrXUtnFEMI-secret") {
			t.Errorf("printed configuration shows the secret key: %s", s)
		}
	}
}

// A transfer that makes no progress is cut after the timeout.
func TestStalledReadIsCut(t *testing.T) {
	srv := s3test.Start(t)
	stall := &stallingTransport{}
	c := config(srv, srv.Bucket(t), "")
	c.Timeout = 500 * time.Millisecond
	c.Transport = stall
	s, err := s3blob.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("y"), 1<<16)
	d := blob.Sum(data)
	if err := blob.Put(context.Background(), s, bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(context.Background(), d, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	stall.stallBodies()
	start := time.Now()
	_, err = io.ReadAll(rc)
	if err == nil {
		t.Fatal("reading a stalled body succeeded")
	}
	if e := time.Since(start); e > 10*time.Second {
		t.Errorf("a stalled read was cut after %s, want about the 500ms timeout", e)
	}
}

// stallingTransport lets requests through, but once stallBodies is
// called, response bodies block until their request's context ends.
type stallingTransport struct {
	mu    sync.Mutex
	stall bool
}

func (s *stallingTransport) stallBodies() { s.mu.Lock(); s.stall = true; s.mu.Unlock() }

func (s *stallingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &stallingBody{rc: resp.Body, s: s, ctx: r.Context()}
	return resp, nil
}

type stallingBody struct {
	rc  io.ReadCloser
	s   *stallingTransport
	ctx context.Context
}

func (b *stallingBody) Read(p []byte) (int, error) {
	b.s.mu.Lock()
	stall := b.s.stall
	b.s.mu.Unlock()
	if stall {
		<-b.ctx.Done()
		return 0, b.ctx.Err()
	}
	return b.rc.Read(p)
}

func (b *stallingBody) Close() error { return b.rc.Close() }

// Open's reader seeks, so that a range request is a ranged GET rather
// than the whole blob.
func TestOpenSeeksForRanges(t *testing.T) {
	s := newStore(t, s3test.Start(t), "")
	ctx := context.Background()
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	d := blob.Sum(data)
	if err := blob.Put(ctx, s, bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 5000} {
		rc, err := s.Open(ctx, d, off)
		if err != nil {
			t.Fatal(err)
		}
		rs, ok := rc.(io.ReadSeeker)
		if !ok {
			t.Fatalf("Open returned a %T, not an io.ReadSeeker", rc)
		}
		if n, err := rs.Seek(0, io.SeekEnd); err != nil || n != int64(len(data)) {
			t.Errorf("Open(off=%d): Seek(0, End) = %d, %v; want the blob's size %d", off, n, err, len(data))
		}
		r := httptest.NewRequest("GET", "/f", nil)
		r.Header.Set("Range", "bytes=100000-100999")
		w := httptest.NewRecorder()
		http.ServeContent(w, r, "", time.Time{}, rs)
		rc.Close()
		if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), data[100000:101000]) {
			t.Errorf("Open(off=%d): range request = %d with %d bytes, want 206 with bytes 100000-100999", off, w.Code, w.Body.Len())
		}
	}
}
