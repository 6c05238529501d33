package meta

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
)

// SumState returns what is kept under key of an upstream checksum
// database (goproxy.SumState), or nil and no error if nothing is.
func (db *DB) SumState(ctx context.Context, key string) ([]byte, error) {
	var s string
	err := db.q.row(ctx, `SELECT data FROM upstream_sumdb WHERE name = ?`, key).Scan(&s)
	if err = db.q.err(err); errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("upstream_sumdb %q: %w", key, err)
	}
	return b, nil
}

// SwapSumState replaces the value under key, old (nil: none), by new in
// one statement: it reports false, changing nothing, when the stored
// value is not old.
func (db *DB) SwapSumState(ctx context.Context, key string, old, new []byte) (bool, error) {
	w := q{x: db.w, d: db.d}
	enc := base64.StdEncoding.EncodeToString
	var err error
	if old == nil {
		err = affected(w.exec(ctx, `INSERT INTO upstream_sumdb (name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, key, enc(new)))
	} else {
		err = affected(w.exec(ctx, `UPDATE upstream_sumdb SET data = ? WHERE name = ? AND data = ?`, enc(new), key, enc(old)))
	}
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PutSumState stores data under key, replacing any value.
func (db *DB) PutSumState(ctx context.Context, key string, data []byte) error {
	_, err := q{x: db.w, d: db.d}.exec(ctx, `INSERT INTO upstream_sumdb (name, data) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data`, key, base64.StdEncoding.EncodeToString(data))
	return err
}
