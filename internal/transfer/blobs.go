package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// A ref is one blob the database references, its references gathered.
type ref struct {
	digest blob.Digest
	size   int64 // of the content; -1 when only metadata refers to it
	// required is true when a file that is not deleted references it.
	required bool
	what     string // the first file referencing it, for messages
}

// refs calls fn with each blob the database references, in digest order.
func refs(ctx context.Context, list func(context.Context, func(meta.BlobRef) error) error, fn func(*ref) error) error {
	var cur *ref
	err := list(ctx, func(r meta.BlobRef) error {
		if cur != nil && string(cur.digest) != r.Digest {
			if err := fn(cur); err != nil {
				return err
			}
			cur = nil
		}
		if cur == nil {
			cur = &ref{digest: blob.Digest(r.Digest), size: -1, what: fmt.Sprintf("%s %s %s (%s)", r.Ecosystem, r.Package, r.Filename, r.Role)}
		}
		if r.Role == "content" {
			cur.size = r.Size
		}
		cur.required = cur.required || trove.State(r.State) != trove.Deleted
		return nil
	})
	if err == nil && cur != nil {
		err = fn(cur)
	}
	return err
}

// progressEvery is how often the blob copy reports its progress.
const progressEvery = 2 * time.Second

// copyBlobs copies every blob the snapshot references that the target
// lacks. Missing source blobs are listed and fail the copy, unless no
// file that is not deleted needs them.
func copyBlobs(ctx context.Context, s *meta.Snapshot, o Options, rep *Report) error {
	var missing []string
	last := time.Now()
	err := refs(ctx, s.BlobRefs, func(r *ref) error {
		n, copied, problem, err := copyBlob(ctx, o, r)
		if err != nil {
			return err
		}
		switch {
		case problem != "" && r.required:
			missing = append(missing, fmt.Sprintf("%s: %s; referenced by %s", r.digest, problem, r.what))
		case problem != "":
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %s; referenced only by deleted files (%s)", r.digest, problem, r.what))
		}
		rep.Blobs++
		rep.BlobBytes += n
		if copied {
			rep.BlobsCopied++
			rep.CopiedBytes += n
		}
		if time.Since(last) > progressEvery {
			last = time.Now()
			o.progress("blobs: %d checked (%d bytes), %d copied", rep.Blobs, rep.BlobBytes, rep.BlobsCopied)
		}
		return nil
	})
	if err != nil {
		return err
	}
	verb := "copied"
	if o.DryRun {
		verb = "to copy"
	}
	o.progress("blobs: %d referenced (%d bytes), %d %s (%d bytes), the others already in the target", rep.Blobs, rep.BlobBytes, rep.BlobsCopied, verb, rep.CopiedBytes)
	for _, m := range missing {
		o.progress("missing: blob %s", m)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %d (listed above; run trove fsck on the source, restore them, and run again)", ErrMissingBlobs, len(missing))
	}
	return nil
}

// copyBlob copies one blob unless the target holds it with the source's
// size. It returns the blob's size, whether it copied it, and what is
// wrong with the source's copy ("" if nothing).
func copyBlob(ctx context.Context, o Options, r *ref) (int64, bool, string, error) {
	size, err := o.From.Blobs.Stat(ctx, r.digest)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return 0, false, "missing from the source's blob store", nil
	case errors.Is(err, blob.ErrDamaged):
		return 0, false, "damaged in the source's blob store", nil
	case err != nil:
		return 0, false, "", fmt.Errorf("checking source blob %s: %w", r.digest, err)
	case r.size >= 0 && size != r.size:
		return 0, false, fmt.Sprintf("%d bytes in the source's blob store, want %d", size, r.size), nil
	}
	have, err := o.To.Blobs.Stat(ctx, r.digest)
	switch {
	case err == nil && have == size:
		return size, false, "", nil // copied before: resumed
	case err != nil && !errors.Is(err, blob.ErrNotFound) && !errors.Is(err, blob.ErrDamaged):
		return 0, false, "", fmt.Errorf("checking target blob %s: %w", r.digest, err)
	case o.DryRun:
		return size, true, "", nil
	}
	rc, err := o.From.Blobs.Open(ctx, r.digest, 0)
	if err != nil {
		return 0, false, "", fmt.Errorf("reading source blob %s: %w", r.digest, err)
	}
	defer rc.Close()
	// Commit checks the SHA-256 of what was written: damage in the source
	// or on the way is refused, never stored.
	if err := blob.Put(ctx, o.To.Blobs, rc, r.digest); errors.Is(err, blob.ErrDigestMismatch) {
		return 0, false, "its bytes do not match its sha256 in the source's blob store", nil
	} else if err != nil {
		return 0, false, "", fmt.Errorf("copying blob %s: %w", r.digest, err)
	}
	return size, true, "", nil
}

// verifyBlobs re-reads every blob the target database references from
// the target store and checks its SHA-256 and size. A blob missing on
// both sides that only deleted files reference is not a problem.
func verifyBlobs(ctx context.Context, s *meta.Snapshot, o Options, v *Verification) error {
	last := time.Now()
	return refs(ctx, s.BlobRefs, func(r *ref) error {
		problem, err := checkTargetBlob(ctx, o, r)
		if err != nil {
			return err
		}
		v.Blobs++
		if problem != "" {
			if _, serr := o.From.Blobs.Stat(ctx, r.digest); !r.required && serr != nil {
				problem = "" // gone from the source too, and no longer needed
			}
		}
		if problem != "" {
			v.Problems = append(v.Problems, fmt.Sprintf("blob %s: %s; referenced by %s", r.digest, problem, r.what))
		}
		if time.Since(last) > progressEvery {
			last = time.Now()
			o.progress("verifying blobs: %d checked", v.Blobs)
		}
		return nil
	})
}

func checkTargetBlob(ctx context.Context, o Options, r *ref) (string, error) {
	size, err := o.To.Blobs.Stat(ctx, r.digest)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return "missing from the target's blob store", nil
	case errors.Is(err, blob.ErrDamaged):
		return "damaged in the target's blob store", nil
	case err != nil:
		return "", fmt.Errorf("checking target blob %s: %w", r.digest, err)
	case r.size >= 0 && size != r.size:
		return fmt.Sprintf("%d bytes in the target's blob store, want %d", size, r.size), nil
	}
	rc, err := o.To.Blobs.Open(ctx, r.digest, 0)
	if err != nil {
		return "", fmt.Errorf("reading target blob %s: %w", r.digest, err)
	}
	defer rc.Close()
	if err := blob.Verify(rc, r.digest); errors.Is(err, blob.ErrDamaged) {
		return "its bytes in the target's blob store do not match its sha256", nil
	} else if err != nil {
		return "", err
	}
	return "", nil
}
