package transfer

import (
	"context"
	"fmt"

	"github.com/trove-dev/trove/internal/meta"
)

// A Verification is what Verify found.
type Verification struct {
	Tables   []TableCheck
	Blobs    int64 // blobs checked in the target
	Log      int64 // records in both logs
	Problems []string
}

// Err returns an error wrapping ErrMismatch if Verify found problems.
func (v *Verification) Err() error {
	if len(v.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d problems (listed above)", ErrMismatch, len(v.Problems))
}

// Verify compares the target with its source, rows, blobs and log,
// reading both afresh. What differs is listed in the Verification; an
// error means the comparison itself could not be made.
func Verify(ctx context.Context, o Options) (*Verification, error) {
	v := &Verification{}
	err := o.From.DB.Snapshot(ctx, func(src *meta.Snapshot) error {
		return o.To.DB.Snapshot(ctx, func(dst *meta.Snapshot) error {
			if err := verifyTables(ctx, src, dst, o, v); err != nil {
				return err
			}
			if err := verifyLog(ctx, src, dst, o, v); err != nil {
				return err
			}
			return verifyBlobs(ctx, dst, o, v)
		})
	})
	if err != nil {
		return nil, err
	}
	o.progress("verified: %d tables, %d blobs, %d log records; %d problems", len(v.Tables), v.Blobs, v.Log, len(v.Problems))
	return v, nil
}

func verifyTables(ctx context.Context, src, dst *meta.Snapshot, o Options, v *Verification) error {
	for _, table := range meta.DumpTables() {
		c, err := compareTable(ctx, src, dst, table)
		if err != nil {
			return err
		}
		v.Tables = append(v.Tables, c)
		switch {
		case c.FirstDifferent != 0:
			v.Problems = append(v.Problems, fmt.Sprintf("table %s: %d rows in the source, %d in the target; row %d differs first (sha256 %s, target %s)",
				table, c.Rows, c.TargetRows, c.FirstDifferent, c.SHA256, c.TargetSHA256))
		default:
			o.progress("table %s: %d rows, sha256 %s on both sides", table, c.Rows, c.SHA256)
		}
	}
	return nil
}

// verifyLog recomputes both logs from their records, checks them against
// the signed checkpoint, and checks the target's state objects.
func verifyLog(ctx context.Context, src, dst *meta.Snapshot, o Options, v *Verification) error {
	a, err := checkLog(ctx, src, o)
	if err != nil {
		return fmt.Errorf("the source's transparency log: %w", err)
	}
	b, err := checkLog(ctx, dst, o)
	if err != nil {
		v.Problems = append(v.Problems, fmt.Sprintf("the target's transparency log: %v", err))
		return nil
	}
	v.Log = b.N
	if a != b {
		v.Problems = append(v.Problems, fmt.Sprintf("the target's log (%d records, root %v) is not the source's (%d records, root %v)", b.N, b.Hash, a.N, a.Hash))
		return nil
	}
	o.progress("log: %d records, root %v on both sides, matching the signed checkpoint", b.N, b.Hash)
	v.Problems = append(v.Problems, verifyStates(ctx, o, dst, b.N)...)
	return nil
}
