// Package translog is Trove's transparency log: an append-only Merkle log
// of every public state change (see Event for the record format), stored
// in the metadata database through the small Store interface, with signed
// checkpoints and tiles that anyone can use to prove that a record is in
// the log and that the log only ever grew.
//
// All hashing, proofs and tiles come from golang.org/x/mod/sumdb/tlog and
// all signatures from golang.org/x/mod/sumdb/note; this package writes no
// Merkle code. The tree uses RFC 6962 hashing, so one log serves two
// formats: C2SP tlog-checkpoint and tlog-tiles (paths checkpoint,
// tile/<L>/<N>, tile/entries/<N>), and the Go checksum database's
// (latest, tile/8/<L>/<N>, tile/8/data/<N>), each signed with the same key.
//
// # Invariants
//
//   - Records are appended inside the caller's database transaction, so a
//     state change is visible if and only if its record is in the log.
//   - The tree never shrinks: every checkpoint signed is kept in a state
//     file outside the database, and Open refuses a database whose tree is
//     smaller than, or not an extension of, the last one signed (a restored
//     old backup, or tampering).
package translog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// A Store reads the log. meta.DB, meta.Snapshot and meta.Tx implement it.
type Store interface {
	// LogSize returns the number of records in the log.
	LogSize(ctx context.Context) (int64, error)
	// ReadLogHashes returns the stored hashes at the given indexes (in
	// tlog.StoredHashIndex numbering), in the order asked.
	ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// ReadLogRecords returns the texts of records id through id+n-1.
	ReadLogRecords(ctx context.Context, id, n int64) ([][]byte, error)
}

// A Writer appends to the log within a transaction. meta.Tx implements it.
type Writer interface {
	Store
	// WriteLogRecord stores record id, and the hashes it adds at stored
	// hash indexes firstHash, firstHash+1, ….
	WriteLogRecord(ctx context.Context, id int64, text []byte, firstHash int64, hashes []tlog.Hash) error
}

// hashReader adapts a Store to tlog.HashReader.
func hashReader(ctx context.Context, s Store) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return s.ReadLogHashes(ctx, indexes)
	})
}

// Append appends the records, in order, and returns the id of the first.
// It must run inside the transaction that makes the change the records
// describe, so that both commit or neither does.
func Append(ctx context.Context, w Writer, records ...[]byte) (int64, error) {
	n, err := w.LogSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("appending to log: %w", err)
	}
	first := n
	for _, text := range records {
		if _, err := tlog.FormatRecord(n, text); err != nil {
			return 0, fmt.Errorf("appending to log: record %d: %w", n, err)
		}
		hashes, err := tlog.StoredHashes(n, text, hashReader(ctx, w))
		if err != nil {
			return 0, fmt.Errorf("appending to log: hashing record %d: %w", n, err)
		}
		if err := w.WriteLogRecord(ctx, n, text, tlog.StoredHashIndex(0, n), hashes); err != nil {
			return 0, fmt.Errorf("appending to log: record %d: %w", n, err)
		}
		n++
	}
	return first, nil
}

// TreeOf returns the tree of the first n records of the store.
func TreeOf(ctx context.Context, s Store, n int64) (tlog.Tree, error) {
	h, err := tlog.TreeHash(n, hashReader(ctx, s))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("hashing tree of size %d: %w", n, err)
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// ProveRecord returns the proof that record id is in the tree of size n.
func ProveRecord(ctx context.Context, s Store, id, n int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(n, id, hashReader(ctx, s))
}

// ProveTree returns the proof that the tree of size old is a prefix of the
// tree of size n.
func ProveTree(ctx context.Context, s Store, old, n int64) (tlog.TreeProof, error) {
	return tlog.ProveTree(n, old, hashReader(ctx, s))
}

// ReadTile returns the bytes of tile t: stored hashes for a hash tile
// (t.L >= 0), or the records for a data tile (t.L == -1) in the C2SP entry
// bundle format (each record prefixed by its length as a big-endian uint16),
// private records redacted (Redact): a tile is public and immutable,
// whoever asks for it.
func ReadTile(ctx context.Context, s Store, t tlog.Tile) ([]byte, error) {
	if t.L >= 0 {
		return tlog.ReadTileData(t, hashReader(ctx, s))
	}
	recs, err := s.ReadLogRecords(ctx, t.N<<uint(t.H), int64(t.W))
	if err != nil {
		return nil, err
	}
	return AppendBundle(nil, RedactAll(recs)...)
}
