package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
)

// A Damage is a stored blob of a visible file that a scrub found missing
// or not matching its sha256.
type Damage struct {
	Ecosystem, Package, Filename string
	Digest                       blob.Digest
	// Missing: no blob at all; otherwise its bytes were wrong and it was
	// taken out of service (if the store can: blob.Quarantiner).
	Missing bool
	Err     error
}

// ScrubStats count what a scrub checked.
type ScrubStats struct {
	Files   int
	Blobs   int
	Bytes   int64
	Damaged int
}

// Scrub reads every blob of every visible file (the file and the metadata
// extracted from it) from store, checks it against its sha256 and takes
// damaged ones out of service, calling report for each. It reads at most
// rate bytes a second (0: as fast as it can), so that a scheduled scrub
// leaves the disk to the clients. store should be the blob store itself,
// not a cache in front of it. A blob that cannot be read for another
// reason ends the scrub with that error.
func Scrub(ctx context.Context, db *meta.DB, store blob.Store, rate int64, report func(Damage)) (ScrubStats, error) {
	var st ScrubStats
	start := time.Now()
	check := func(f meta.StoredFile, d blob.Digest) error {
		rc, err := store.Open(ctx, d, 0)
		damage := Damage{Ecosystem: f.Ecosystem, Package: f.Package, Filename: f.Filename, Digest: d}
		switch {
		case errors.Is(err, blob.ErrNotFound):
			damage.Missing, damage.Err = true, err
		case errors.Is(err, blob.ErrDamaged):
			damage.Err = err // quarantined before
		case err != nil:
			return fmt.Errorf("scrubbing %s: %w", d, err)
		default:
			cr := &countReader{r: rc}
			err = blob.Verify(cr, d)
			rc.Close()
			st.Bytes += cr.n
			if errors.Is(err, blob.ErrDamaged) {
				damage.Err = err
				if q, ok := store.(blob.Quarantiner); ok {
					if qerr := q.Quarantine(ctx, d); qerr != nil {
						return qerr
					}
				}
			} else if err != nil {
				return fmt.Errorf("scrubbing %s: %w", d, err)
			}
		}
		st.Blobs++
		if damage.Err != nil {
			st.Damaged++
			report(damage)
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(st.Bytes) / float64(rate) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
		}
		return ctx.Err()
	}
	var after int64
	for {
		files, err := db.VisibleFilesAfter(ctx, after, 500)
		if err != nil {
			return st, fmt.Errorf("listing files to scrub: %w", err)
		}
		if len(files) == 0 {
			return st, nil
		}
		for _, f := range files {
			after = f.ID
			st.Files++
			if err := check(f, blob.Digest(f.SHA256)); err != nil {
				return st, err
			}
			if f.MetadataSHA256 != "" {
				if err := check(f, blob.Digest(f.MetadataSHA256)); err != nil {
					return st, err
				}
			}
		}
	}
}

type countReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
