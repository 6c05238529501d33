// Package memstore is a transparency log store in memory, for tests: it
// implements translog.Writer (and so translog.Store) without a database.
// It imports nothing of translog, so translog's own tests can use it.
package memstore

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// A Store holds records and their Merkle hashes in memory. It is safe for
// concurrent use.
type Store struct {
	mu      sync.Mutex
	records [][]byte
	hashes  map[int64]tlog.Hash
}

// New returns an empty Store.
func New() *Store { return &Store{hashes: map[int64]tlog.Hash{}} }

// LogSize returns the number of records.
func (m *Store) LogSize(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.records)), nil
}

// ReadLogHashes returns the stored hashes at indexes.
func (m *Store) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := m.hashes[x]
		if !ok {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

// ReadLogRecords returns records id through id+n-1.
func (m *Store) ReadLogRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 0 || n < 0 || id+n > int64(len(m.records)) {
		return nil, fmt.Errorf("records %d+%d out of range", id, n)
	}
	return m.records[id : id+n], nil
}

// WriteLogRecord appends record id, which must be the next one, with the
// hashes it adds, the first at index first.
func (m *Store) WriteLogRecord(ctx context.Context, id int64, text []byte, first int64, hashes []tlog.Hash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id != int64(len(m.records)) {
		return fmt.Errorf("write of record %d at size %d", id, len(m.records))
	}
	m.records = append(m.records, text)
	for i, h := range hashes {
		m.hashes[first+int64(i)] = h
	}
	return nil
}
