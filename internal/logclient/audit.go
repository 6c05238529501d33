package logclient

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog"
)

// An Audit is the result of checking a whole log.
type Audit struct {
	Checkpoint *Checkpoint
	Kinds      map[string]int // records per kind
	Ecosystems map[string]int // records per ecosystem
	// Private counts the private records, served as placeholders that
	// give only their leaf hash (translog.Redact): they count in the
	// root hash, not in Kinds or Ecosystems.
	Private int
}

// Audit verifies the log's latest checkpoint (as Latest does), downloads
// every record up to it from the entry bundles, recomputes the tree's root
// hash from them and checks it against the signed one, and parses every
// record. A private record's placeholder counts with its leaf hash (a
// placeholder giving another leaf than the tree's fails the root hash)
// and in Audit.Private. progress, if not nil, is called after each bundle.
func (c *Client) Audit(progress func(done, total int64)) (*Audit, error) {
	cp, err := c.Latest()
	if err != nil {
		return nil, err
	}
	a := &Audit{Checkpoint: cp, Kinds: map[string]int{}, Ecosystems: map[string]int{}}
	// Only the hashes a later record or the root still needs are kept:
	// the top stored hash of each record is a left sibling of a later
	// node (read once, then dropped) or the root of one of the tree's
	// full subtrees. Memory stays at about one hash per tree level,
	// whatever the log's size.
	top := map[int64]tlog.Hash{}
	read := func(indexes []int64, consume bool) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			h, ok := top[x]
			if !ok {
				return nil, fmt.Errorf("hash %d not computed", x)
			}
			out[i] = h
		}
		if consume {
			for _, x := range indexes {
				delete(top, x)
			}
		}
		return out, nil
	}
	siblings := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return read(indexes, true) })
	n := cp.Tree.N
	const size = 1 << translog.TileHeight
	for start := int64(0); start < n; start += size {
		t := tlog.Tile{H: translog.TileHeight, L: -1, N: start / size, W: int(min(size, n-start))}
		path := translog.TilePath(t)
		data, err := c.ops.ReadRemote(path)
		if err != nil {
			return nil, fmt.Errorf("auditing: fetching %s: %w", path, err)
		}
		records, err := splitBundle(data)
		if err != nil {
			return nil, fmt.Errorf("auditing: %s: %w", path, err)
		}
		if len(records) != t.W {
			return nil, fmt.Errorf("auditing: %s holds %d records, want %d", path, len(records), t.W)
		}
		for i, text := range records {
			id := start + int64(i)
			leaf, err := translog.LeafHash(text)
			if err != nil {
				return nil, fmt.Errorf("auditing: record %d: %w", id, err)
			}
			hs, err := tlog.StoredHashesForRecordHash(id, leaf, siblings)
			if err != nil {
				return nil, fmt.Errorf("auditing: hashing record %d: %w", id, err)
			}
			top[tlog.StoredHashIndex(0, id)+int64(len(hs))-1] = hs[len(hs)-1]
			if translog.IsPlaceholder(text) {
				a.Private++
				continue
			}
			ev, err := translog.ParseEvent(text)
			if err != nil {
				return nil, fmt.Errorf("auditing: record %d: %w", id, err)
			}
			a.Kinds[ev.Kind]++
			a.Ecosystems[ev.Ecosystem]++
		}
		if progress != nil {
			progress(start+int64(t.W), n)
		}
	}
	h, err := tlog.TreeHash(n, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return read(indexes, false) }))
	if err != nil {
		return nil, fmt.Errorf("auditing: hashing tree: %w", err)
	}
	if h != cp.Tree.Hash {
		return nil, c.misbehaved(fmt.Sprintf("the log's %d records hash to %v, but it signed %v for them", n, h, cp.Tree.Hash), cp, cp, "")
	}
	return a, nil
}

// splitBundle splits a C2SP entry bundle: records, each prefixed by its
// length as a big-endian uint16.
func splitBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("truncated entry bundle")
		}
		n := int(data[0])<<8 | int(data[1])
		if len(data) < 2+n {
			return nil, fmt.Errorf("truncated entry bundle")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}
