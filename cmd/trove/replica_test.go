package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/translog"
)

// TestReplicaRefusesANewLogKey: a server whose key directory is empty
// makes a key only for a new log; joining a log that exists (records in
// the database, or a checkpoint kept in the blob store) it refuses,
// saying how to give it the log's key, and creates nothing.
func TestReplicaRefusesANewLogKey(t *testing.T) {
	ctx := context.Background()
	newConfig := func(keyDir string) *config.Config {
		c := &config.Config{DataDir: t.TempDir()}
		c.Transparency.Name = "registry.example.test/log"
		c.Transparency.KeyDir = keyDir
		return c
	}

	// The first server of a new log makes the key.
	db, blobs := dbtest.Open(t), memblob.New()
	first := newConfig("")
	if _, _, err := loadLogKey(ctx, first, db, blobs); err != nil {
		t.Fatalf("first server: %v", err)
	}
	l, err := openLog(ctx, first, db, blobs) // keeps a checkpoint in the blob store
	if err != nil {
		t.Fatal(err)
	}

	// The blob store holds the log's checkpoint: a second server without
	// the key is refused, though the database has no record yet.
	second := newConfig("")
	_, _, err = loadLogKey(ctx, second, db, blobs)
	checkRefused(t, err, "the blob store", second.KeyDir())

	// The database holds records (a fresh bucket does not help).
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		_, err := translog.Append(ctx, tx, []byte("record 0\n"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err = loadLogKey(ctx, second, db, memblob.New())
	checkRefused(t, err, "the database (1 log records)", second.KeyDir())

	// Given the key (transparency.key_dir), it starts and signs the same log.
	shared := newConfig(first.KeyDir())
	signer, vkey, err := loadLogKey(ctx, shared, db, blobs)
	if err != nil {
		t.Fatalf("with transparency.key_dir: %v", err)
	}
	if signer.Name() != l.Origin() || vkey != l.VerifierKey() {
		t.Fatal("with transparency.key_dir: another key than the log's")
	}
}

func checkRefused(t *testing.T, err error, where, dir string) {
	t.Helper()
	var h hinted
	if !errors.As(err, &h) || !strings.Contains(err.Error(), where) || !strings.Contains(h.hint, "copy signer.key") || !strings.Contains(h.hint, "transparency.key_dir") {
		t.Fatalf("joining an existing log without its key = %v (hint %q), want a refusal naming %s and how to give the key", err, h.hint, where)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Fatalf("the refused server wrote %d files in %s", len(entries), filepath.Base(dir))
	}
}
