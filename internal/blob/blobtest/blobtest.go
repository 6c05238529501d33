// Package blobtest is the conformance suite every blob.Store must pass.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/blob"
)

// Run runs the conformance suite against stores made by newStore. Each
// subtest gets a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("trove blob conformance "), 1000)
	d := blob.Sum(data)

	t.Run("PutOpen", func(t *testing.T) {
		s := newStore(t)
		if err := blob.Put(ctx, s, bytes.NewReader(data), d); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got := read(t, s, d, 0)
		if !bytes.Equal(got, data) {
			t.Fatalf("Open returned %d bytes, want the %d written", len(got), len(data))
		}
		n, err := s.Stat(ctx, d)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Stat = %d, %v; want %d, nil", n, err, len(data))
		}
	})
	t.Run("OpenOffset", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, data)
		for _, off := range []int64{0, 1, 100, int64(len(data)) - 1, int64(len(data))} {
			got := read(t, s, d, off)
			if !bytes.Equal(got, data[off:]) {
				t.Errorf("Open(off=%d) returned %d bytes, want %d", off, len(got), len(data)-int(off))
			}
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Open(ctx, d, 0); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Open(ctx, "../../etc/passwd", 0); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(bad digest) error = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, d); err != nil {
			t.Errorf("Delete(missing) = %v, want nil", err)
		}
	})
	t.Run("DigestMismatch", func(t *testing.T) {
		s := newStore(t)
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		wrong := blob.Sum([]byte("something else"))
		if err := w.Commit(ctx, wrong); !errors.Is(err, blob.ErrDigestMismatch) {
			t.Fatalf("Commit(wrong digest) = %v, want ErrDigestMismatch", err)
		}
		for _, x := range []blob.Digest{wrong, d} {
			if _, err := s.Stat(ctx, x); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("after failed commit, Stat(%s) = %v, want ErrNotFound", x, err)
			}
		}
	})
	t.Run("Abort", func(t *testing.T) {
		s := newStore(t)
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("after Abort, Stat = %v, want ErrNotFound", err)
		}
		if err := w.Commit(ctx, d); err == nil {
			t.Errorf("Commit after Abort succeeded")
		}
	})
	t.Run("AbortAfterCommit", func(t *testing.T) {
		s := newStore(t)
		w, _ := s.Create(ctx)
		w.Write(data)
		if err := w.Commit(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("Abort after Commit = %v, want nil", err)
		}
		if got := read(t, s, d, 0); !bytes.Equal(got, data) {
			t.Errorf("Abort after Commit changed the blob")
		}
	})
	t.Run("CommitTwice", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, data)
		mustPut(t, s, data)
		if got := read(t, s, d, 0); !bytes.Equal(got, data) {
			t.Errorf("second commit of the same bytes changed the blob")
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, data)
		if err := s.Delete(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, d, 0); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open after Delete = %v, want ErrNotFound", err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		empty := blob.Sum(nil)
		if err := blob.Put(ctx, s, bytes.NewReader(nil), empty); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, empty, 0); len(got) != 0 {
			t.Errorf("empty blob read back %d bytes", len(got))
		}
	})
	t.Run("Quarantine", func(t *testing.T) {
		s := newStore(t)
		q, ok := s.(blob.Quarantiner)
		if !ok {
			return // an optional ability
		}
		b := []byte("bytes found damaged")
		mustPut(t, s, b)
		d := blob.Sum(b)
		if err := q.Quarantine(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, d, 0); !errors.Is(err, blob.ErrDamaged) {
			t.Errorf("Open(quarantined) = %v, want ErrDamaged", err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrDamaged) {
			t.Errorf("Stat(quarantined) = %v, want ErrDamaged", err)
		}
		if err := q.Quarantine(ctx, blob.Sum([]byte("never stored"))); err != nil {
			t.Errorf("Quarantine(missing) = %v", err)
		}
		if _, err := s.Open(ctx, blob.Sum([]byte("never stored")), 0); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(never stored) = %v, want ErrNotFound", err)
		}
		mustPut(t, s, b) // restored from a good copy
		if got := read(t, s, d, 0); !bytes.Equal(got, b) {
			t.Errorf("after restoring: %q", got)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				b := []byte(fmt.Sprintf("blob %d", i%4)) // 4 distinct blobs, each committed 4 times
				if err := blob.Put(ctx, s, bytes.NewReader(b), blob.Sum(b)); err != nil {
					errs <- err
					return
				}
				rc, err := s.Open(ctx, blob.Sum(b), 0)
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if !bytes.Equal(got, b) {
					errs <- fmt.Errorf("read %q, want %q", got, b)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("State", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.ReadState(ctx, "checkpoint"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("ReadState of a missing object: %v, want ErrNotFound", err)
		}
		for _, v := range []string{"first", "second, longer than the first", ""} {
			if err := s.WriteState(ctx, "checkpoint", []byte(v)); err != nil {
				t.Fatalf("WriteState: %v", err)
			}
			got, err := s.ReadState(ctx, "checkpoint")
			if err != nil || string(got) != v {
				t.Fatalf("ReadState = %q, %v; want %q", got, err, v)
			}
		}
		for _, bad := range []string{"", ".hidden", "../escape", "a/b", "UPPER", strings.Repeat("x", 65)} {
			if err := s.WriteState(ctx, bad, []byte("x")); err == nil {
				t.Errorf("WriteState(%q) succeeded; want an error", bad)
			}
			if _, err := s.ReadState(ctx, bad); err == nil || errors.Is(err, blob.ErrNotFound) {
				t.Errorf("ReadState(%q) = %v; want a name error", bad, err)
			}
		}
		if err := s.WriteState(ctx, "big", make([]byte, blob.MaxStateBytes+1)); err == nil {
			t.Error("WriteState over MaxStateBytes succeeded")
		}
		// State objects are not blobs: no digest names them.
		if _, err := s.Stat(ctx, blob.Sum([]byte(""))); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat of the empty state's digest: %v, want ErrNotFound", err)
		}
	})
}

func mustPut(t *testing.T, s blob.Store, b []byte) {
	t.Helper()
	if err := blob.Put(context.Background(), s, bytes.NewReader(b), blob.Sum(b)); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func read(t *testing.T, s blob.Store, d blob.Digest, off int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), d, off)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", d, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", d, err)
	}
	return b
}
