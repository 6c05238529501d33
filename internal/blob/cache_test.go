package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/blobtest"
	"github.com/trove-dev/trove/internal/blob/fsblob"
)

func TestCacheConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fsblob.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return blob.NewCache(s, 64<<10, 32<<10)
	})
}

func TestCacheServesFromMemoryWithinBounds(t *testing.T) {
	ctx := context.Background()
	fs, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := blob.NewCache(fs, 3000, 1000)
	put := func(b []byte) blob.Digest {
		d := blob.Sum(b)
		if err := blob.Put(ctx, c, bytes.NewReader(b), d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	read := func(d blob.Digest, off int64) ([]byte, bool) {
		rc, err := c.Open(ctx, d, off)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, seeker := rc.(io.ReadSeeker)
		b, _ := io.ReadAll(rc)
		return b, seeker
	}
	var small []blob.Digest
	for i := 0; i < 5; i++ {
		small = append(small, put(bytes.Repeat([]byte{byte('a' + i)}, 900)))
	}
	big := put(bytes.Repeat([]byte("z"), 5000))
	for _, d := range small {
		if b, seeker := read(d, 100); len(b) != 800 || !seeker {
			t.Fatalf("cached read from offset 100: %d bytes, seeker %v", len(b), seeker)
		}
	}
	if n, size := c.Len(); n != 3 || size != 2700 {
		t.Errorf("cache holds %d blobs, %d bytes; want the 3 most recent of 900 bytes within 3000", n, size)
	}
	if b, _ := read(big, 0); len(b) != 5000 {
		t.Errorf("big blob read %d bytes", len(b))
	}
	if n, _ := c.Len(); n != 3 {
		t.Errorf("a blob over the per-blob limit was cached")
	}
	// Deleting drops the cached copy too.
	if err := c.Delete(ctx, small[4]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, small[4], 0); err == nil {
		t.Errorf("deleted blob still served from the cache")
	}
}

// TestCacheRefusesDamagedBlobs: bytes that no longer match their digest
// are never served from the cache, and the blob is taken out of service.
func TestCacheRefusesDamagedBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := blob.NewCache(fs, 1<<20, 64<<10)
	good := []byte("the published tarball")
	d := blob.Sum(good)
	if err := blob.Put(ctx, c, bytes.NewReader(good), d); err != nil {
		t.Fatal(err)
	}
	// Disk corruption: same length, one byte flipped.
	p := filepath.Join(dir, "sha256", string(d[:2]), string(d))
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("the published tarbalL"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rc, err := c.Open(ctx, d, 0)
		if err == nil {
			b, _ := io.ReadAll(rc)
			t.Fatalf("Open of a damaged blob served %q", b)
		}
		if !errors.Is(err, blob.ErrDamaged) {
			t.Fatalf("Open of a damaged blob = %v, want ErrDamaged", err)
		}
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the damaged file is still in service: %v", err)
	}
	if err := blob.Put(ctx, c, bytes.NewReader(good), d); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Open(ctx, d, 0)
	if err != nil {
		t.Fatalf("after restoring: %v", err)
	}
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, good) {
		t.Errorf("after restoring: %q", b)
	}
}
