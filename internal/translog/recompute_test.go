package translog

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog/memstore"
)

func TestRecompute(t *testing.T) {
	s := memstore.New()
	fill(t, s, 2*recomputeChunk+37)
	for _, n := range []int64{0, 1, 2, 3, 7, 8, 255, 256, 1023, recomputeChunk, recomputeChunk + 1, 2*recomputeChunk + 37} {
		got, err := Recompute(ctx, s, n)
		if err != nil {
			t.Fatalf("Recompute(%d): %v", n, err)
		}
		want, err := TreeOf(ctx, s, n)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Recompute(%d) = %v, want %v", n, got, want)
		}
	}
}

// tampered is a store whose hash at one stored index, or record, is
// replaced.
type tampered struct {
	*memstore.Store
	hash   int64
	record int64
}

func (s tampered) ReadLogHashes(c context.Context, indexes []int64) ([]tlog.Hash, error) {
	out, err := s.Store.ReadLogHashes(c, indexes)
	for i, x := range indexes {
		if x == s.hash {
			out[i][0] ^= 1
		}
	}
	return out, err
}

func (s tampered) ReadLogRecords(c context.Context, id, n int64) ([][]byte, error) {
	out, err := s.Store.ReadLogRecords(c, id, n)
	if err != nil {
		return nil, err
	}
	out = append([][]byte(nil), out...)
	if i := s.record - id; i >= 0 && i < n {
		out[i] = append([]byte("x"), out[i]...)
	}
	return out, nil
}

func TestRecomputeFindsCorruption(t *testing.T) {
	s := memstore.New()
	fill(t, s, 1500)
	for name, ts := range map[string]tampered{
		"record":        {Store: s, hash: -1, record: 1200},
		"leaf hash":     {Store: s, hash: tlog.StoredHashIndex(0, 5), record: -1},
		"interior hash": {Store: s, hash: tlog.StoredHashIndex(3, 100), record: -1},
		"last hash":     {Store: s, hash: tlog.StoredHashIndex(0, 1499), record: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Recompute(ctx, ts, 1500); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Recompute of a store with a tampered %s = %v, want ErrCorrupt", name, err)
			}
		})
	}
}
