package scan_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// endless is a file of zeros far larger than any scan could read.
type endless struct{ reads int }

func (e *endless) ReadAt(p []byte, off int64) (int, error) {
	e.reads++
	clear(p)
	return len(p), nil
}

// reader reads every member to the end, as scanners do.
type reader struct{}

func (reader) Name() string { return "reader" }
func (reader) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	for _, f := range a.Files {
		if err := scan.Walk(ctx, f, func(_ string, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// TestScanUploadBoundedByItsDeadline: a scanner that reads a file through
// Walk stops at the inline deadline however large the file (a terabyte
// here: without the deadline the test would time out), and the upload is
// pending; no read happens after the deadline but the one under way.
func TestScanUploadBoundedByItsDeadline(t *testing.T) {
	e := &endless{}
	p := scan.NewPipeline(reader{})
	p.SetTimes(50*time.Millisecond, time.Second)
	a := &scan.Artifact{Ecosystem: "npm", Files: []scan.File{{Name: "huge.bin", Size: 1 << 40, Content: e}}}
	_, pending, err := p.ScanUpload(context.Background(), a)
	if err != nil || !pending {
		t.Fatalf("ScanUpload of a terabyte = pending %v, %v; want pending", pending, err)
	}
	reads := e.reads
	if _, _, err := p.ScanUpload(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if e.reads == reads {
		t.Error("the second scan read nothing")
	}
}

// TestWalkStopsWithItsContext: once the context is done, Walk calls fn
// for no further member and returns the context's error, not an
// invalid archive (which the scanners would reject the upload for).
func TestWalkStopsWithItsContext(t *testing.T) {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"package/a.js", "package/b.js", "package/c.js"} {
		body := bytes.Repeat([]byte("x"), 100_000)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	gz.Close()
	f := scan.File{Name: "p-1.0.0.tgz", Size: int64(b.Len()), Content: bytes.NewReader(b.Bytes())}
	ctx, cancel := context.WithCancel(context.Background())
	var seen []string
	err := scan.Walk(ctx, f, func(name string, r io.Reader) error {
		seen = append(seen, name)
		cancel()
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, trove.ErrInvalid) || len(seen) != 1 {
		t.Errorf("Walk after its context was cancelled = %v, members %v; want context.Canceled after one member", err, seen)
	}
	if err := scan.Walk(context.Background(), f, func(string, io.Reader) error { return nil }); err != nil {
		t.Errorf("Walk of the same archive: %v", err)
	}
}
