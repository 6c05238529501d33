package translog

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrCorrupt reports a store whose stored hashes are not those of its
// records.
var ErrCorrupt = errors.New("transparency log store is corrupt")

// recomputeChunk is how many records Recompute reads at a time.
const recomputeChunk = 1 << 10

// Recompute rebuilds every stored hash of the first n records of s from
// the records' texts and checks that s holds exactly those hashes, so
// that the tree s reports is the tree of its records (TreeOf trusts the
// stored hashes). It returns that tree. Its memory does not grow with n:
// it keeps only the hashes a later record still needs (one per level).
func Recompute(ctx context.Context, s Store, n int64) (tlog.Tree, error) {
	f := frontier{}
	for start := int64(0); start < n; start += recomputeChunk {
		count := min(recomputeChunk, n-start)
		records, err := s.ReadLogRecords(ctx, start, count)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("reading log records from %d: %w", start, err)
		}
		first, end := tlog.StoredHashIndex(0, start), tlog.StoredHashIndex(0, start+count)
		indexes := make([]int64, 0, end-first)
		for i := first; i < end; i++ {
			indexes = append(indexes, i)
		}
		stored, err := s.ReadLogHashes(ctx, indexes)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("reading log hashes from %d: %w", first, err)
		}
		next := 0
		for i, text := range records {
			id := start + int64(i)
			hs, err := tlog.StoredHashes(id, text, f.consume())
			if err != nil {
				return tlog.Tree{}, fmt.Errorf("hashing record %d: %w", id, err)
			}
			for j, h := range hs {
				if stored[next+j] != h {
					return tlog.Tree{}, fmt.Errorf("%w: stored hash %d is not the hash of record %d and those before it", ErrCorrupt, first+int64(next+j), id)
				}
			}
			next += len(hs)
			f[tlog.StoredHashIndex(0, id)+int64(len(hs))-1] = hs[len(hs)-1]
		}
	}
	h, err := tlog.TreeHash(n, f.read())
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("hashing tree of size %d: %w", n, err)
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// A frontier holds the stored hashes that later records and the tree hash
// still need: the top hash each record completes is the left sibling of a
// node not yet complete, or the root of one of the tree's full subtrees.
type frontier map[int64]tlog.Hash

// consume reads hashes as siblings, which nothing needs again.
func (f frontier) consume() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out, err := f.read().ReadHashes(indexes)
		for _, x := range indexes {
			delete(f, x)
		}
		return out, err
	})
}

func (f frontier) read() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			h, ok := f[x]
			if !ok {
				return nil, fmt.Errorf("stored hash %d not computed", x)
			}
			out[i] = h
		}
		return out, nil
	})
}
