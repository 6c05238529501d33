package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// blobGroups calls fn with each blob the database references, its
// references gathered, in digest order. Only the current group is held.
func blobGroups(ctx context.Context, refs func(context.Context, func(meta.BlobRef) error) error, fn func(*Blob) error) error {
	var cur *Blob
	err := refs(ctx, func(r meta.BlobRef) error {
		if cur != nil && cur.Digest != r.Digest {
			if err := fn(cur); err != nil {
				return err
			}
			cur = nil
		}
		if cur == nil {
			cur = &Blob{Digest: r.Digest, Size: -1}
		}
		if r.Role == "content" {
			cur.Size = r.Size
		}
		cur.Required = cur.Required || trove.State(r.State) != trove.Deleted
		cur.Refs = append(cur.Refs, BlobRef{File: r.FileID, Ecosystem: r.Ecosystem, Package: r.Package,
			Filename: r.Filename, State: r.State, Role: r.Role})
		return nil
	})
	if err == nil && cur != nil {
		err = fn(cur)
	}
	return err
}

// writeBlobs writes blobs.jsonl. The size of a blob only metadata refers
// to is not in the database: it is read from the store.
func writeBlobs(ctx context.Context, s *meta.Snapshot, store blob.Store, zw *zipWriter) error {
	pw, err := zw.create(blobsName)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(pw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	info := &zw.m.Blobs
	err = blobGroups(ctx, s.BlobRefs, func(b *Blob) error {
		if b.Size < 0 {
			size, err := store.Stat(ctx, blob.Digest(b.Digest))
			switch {
			case errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrDamaged):
				info.Missing++
			case err != nil:
				return fmt.Errorf("reading the size of blob %s: %w", b.Digest, err)
			default:
				b.Size = size
			}
		}
		info.Count++
		info.Bytes += max(b.Size, 0)
		if b.Required {
			info.Required++
		}
		return enc.Encode(b)
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing backup part %s: %w", blobsName, err)
	}
	pw.done()
	return nil
}

// readBlobs calls fn with each line of blobs.jsonl.
func readBlobs(r io.Reader, fn func(*Blob) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), meta.MaxDumpRowBytes)
	line := 0
	for sc.Scan() {
		line++
		var b Blob
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrInvalid, blobsName, line, err)
		}
		if _, err := blob.ParseDigest(b.Digest); err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrInvalid, blobsName, line, err)
		}
		if err := fn(&b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", blobsName, err)
	}
	return nil
}

// checkBlobs checks that the blob store holds every blob of blobs.jsonl
// with the right size (and, with VerifyBlobs, bytes).
func (a *Archive) checkBlobs(ctx context.Context, o RestoreOptions, rep *Report) error {
	pr, err := a.open(blobsName)
	if err != nil {
		return err
	}
	err = readBlobs(pr, func(b *Blob) error {
		problem, err := checkBlob(ctx, o, b)
		if err != nil {
			return err
		}
		rep.Blobs++
		rep.BlobBytes += max(b.Size, 0)
		if problem == "" {
			return nil
		}
		rep.Missing++
		if b.Required {
			rep.MissingNeeds++
		}
		if o.Missing != nil {
			o.Missing(b, problem)
		}
		return nil
	})
	if ferr := pr.finish(); ferr != nil {
		return ferr
	}
	if err != nil {
		return err
	}
	if rep.Blobs != a.Manifest.Blobs.Count {
		return fmt.Errorf("%w: %s lists %d blobs, the manifest counts %d", ErrInvalid, blobsName, rep.Blobs, a.Manifest.Blobs.Count)
	}
	if rep.MissingNeeds > 0 && !o.AllowMissingBlobs {
		return fmt.Errorf("%w: %d of %d (nothing was restored)", ErrMissingBlobs, rep.MissingNeeds, rep.Blobs)
	}
	return nil
}

// checkBlob returns what is wrong with one blob in the store ("" if
// nothing), or an error if the store could not be asked.
func checkBlob(ctx context.Context, o RestoreOptions, b *Blob) (string, error) {
	d := blob.Digest(b.Digest)
	size, err := o.Blobs.Stat(ctx, d)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return "missing", nil
	case errors.Is(err, blob.ErrDamaged):
		return "damaged (quarantined in the blob store)", nil
	case err != nil:
		return "", fmt.Errorf("checking blob %s: %w", d, err)
	case b.Size >= 0 && size != b.Size:
		return fmt.Sprintf("%d bytes, want %d", size, b.Size), nil
	case !o.VerifyBlobs:
		return "", nil
	}
	rc, err := o.Blobs.Open(ctx, d, 0)
	if err != nil {
		return "", fmt.Errorf("reading blob %s: %w", d, err)
	}
	defer rc.Close()
	if err := blob.Verify(rc, d); errors.Is(err, blob.ErrDamaged) {
		return "bytes do not match the sha256", nil
	} else if err != nil {
		return "", err
	}
	return "", nil
}
