package meta

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/sumdb/tlog"
)

// The transparency log's storage (translog.Store and translog.Writer).

// LogSize returns the number of records in the log.
func (q q) LogSize(ctx context.Context) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COALESCE(MAX(id) + 1, 0) FROM log_records`).Scan(&n)
	return n, q.err(err)
}

// LogSize returns the number of records in the log. In a write
// transaction it first takes the sequencer lock (see lock.go): reading the
// size is how an append begins (translog.Append), and no other
// transaction may append until this one ends.
func (tx *Tx) LogSize(ctx context.Context) (int64, error) {
	if err := tx.sequence(ctx); err != nil {
		return 0, err
	}
	return tx.q.LogSize(ctx)
}

// ReadLogHashes returns the stored hashes at indexes, in order.
func (q q) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	found := make(map[int64]tlog.Hash, len(indexes))
	const chunk = 500
	for start := 0; start < len(indexes); start += chunk {
		part := indexes[start:min(start+chunk, len(indexes))]
		args := make([]any, len(part))
		for i, x := range part {
			args[i] = x
		}
		rows, err := q.query(ctx, `SELECT idx, hash FROM log_hashes WHERE idx IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var idx int64
			var hx string
			if err := rows.Scan(&idx, &hx); err != nil {
				rows.Close()
				return nil, err
			}
			b, err := hex.DecodeString(hx)
			if err != nil || len(b) != tlog.HashSize {
				rows.Close()
				return nil, fmt.Errorf("log hash %d is corrupt", idx)
			}
			var h tlog.Hash
			copy(h[:], b)
			found[idx] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("log hash %d: %w", x, ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

// ReadLogRecords returns records id through id+n-1.
func (q q) ReadLogRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	rows, err := q.query(ctx, `SELECT id, data FROM log_records WHERE id >= ? AND id < ? ORDER BY id`, id, id+n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([][]byte, 0, n)
	for rows.Next() {
		var rid int64
		var data string
		if err := rows.Scan(&rid, &data); err != nil {
			return nil, err
		}
		if rid != id+int64(len(out)) {
			return nil, fmt.Errorf("log record %d missing", id+int64(len(out)))
		}
		out = append(out, []byte(data))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("log records %d to %d: %w", id, id+n-1, ErrNotFound)
	}
	return out, nil
}

// WriteLogRecord stores record id and its stored hashes.
func (tx *Tx) WriteLogRecord(ctx context.Context, id int64, text []byte, firstHash int64, hashes []tlog.Hash) error {
	if err := tx.sequence(ctx); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO log_records (id, data) VALUES (?, ?)`, id, string(text)); err != nil {
		return err
	}
	for i, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO log_hashes (idx, hash) VALUES (?, ?)`, firstHash+int64(i), hex.EncodeToString(h[:])); err != nil {
			return err
		}
	}
	return nil
}

// IndexLogRecord records that record id is about (ecosystem, name, version).
func (tx *Tx) IndexLogRecord(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name, version, kind string, id int64) error {
	_, err := tx.exec(ctx, `INSERT INTO log_index (ecosystem, name, version, kind, record_id) VALUES (?, ?, ?, ?, ?)`,
		ecosystem, name, version, kind, id)
	return err
}

// LogEntries returns the records about (ecosystem, name, version), oldest first.
func (q q) LogEntries(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name, version string) ([]trove.LogEntry, error) {
	rows, err := q.query(ctx, `SELECT record_id, kind FROM log_index WHERE ecosystem = ? AND name = ? AND version = ? ORDER BY record_id`,
		ecosystem, name, version)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (trove.LogEntry, error) {
		var e trove.LogEntry
		err := s.Scan(&e.ID, &e.Kind)
		return e, err
	})
}

// LogRecordIDs returns the ids of the records of kind about the package
// (ecosystem, name) below before, newest first, at most limit.
func (q q) LogRecordIDs(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name, kind string, before int64, limit int) ([]int64, error) {
	rows, err := q.query(ctx, `SELECT record_id FROM log_index WHERE ecosystem = ? AND name = ? AND kind = ? AND record_id < ? ORDER BY record_id DESC LIMIT ?`,
		ecosystem, name, kind, before, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (int64, error) {
		var id int64
		err := s.Scan(&id)
		return id, err
	})
}
