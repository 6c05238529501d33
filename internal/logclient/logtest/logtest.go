// Package logtest runs a Trove transparency log in memory for tests: the
// real translog.Log and translog.Server over an in-memory store, with a
// lookup that scans the records. Two Logs made with one key and different
// records are a forked log, as a lying server would show.
package logtest

import (
	"context"
	"crypto/rand"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/translog/memstore"
)

// Origin is the name of the keys GenerateKey makes.
const Origin = "log.example.test/trove"

// GenerateKey returns a new signer and verifier key named Origin.
func GenerateKey(t testing.TB) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, Origin)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

// A Log is a transparency log in memory, served over HTTP by ServeHTTP at
// the log's root ("checkpoint", "tile/…", "lookup/…").
type Log struct {
	t     testing.TB
	store *memstore.Store
	log   *translog.Log
	srv   *translog.Server
	VKey  string
}

// New returns an empty log signed with skey.
func New(t testing.TB, skey, vkey string) *Log {
	t.Helper()
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	s := memstore.New()
	l, err := translog.Open(context.Background(), s, signer, vkey, filepath.Join(t.TempDir(), "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	return &Log{t: t, store: s, log: l, srv: translog.NewServer(l, s, lookup(s)), VKey: vkey}
}

// Append appends the events' records, signs the new tree and returns the
// id of the first.
func (l *Log) Append(events ...*translog.Event) int64 {
	l.t.Helper()
	var texts [][]byte
	for _, ev := range events {
		text, err := ev.Format()
		if err != nil {
			l.t.Fatal(err)
		}
		texts = append(texts, text)
	}
	id, err := translog.Append(context.Background(), l.store, texts...)
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.log.Sign(context.Background()); err != nil {
		l.t.Fatal(err)
	}
	return id
}

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint() []byte { return l.log.Latest().Checkpoint }

// Tree returns the latest signed tree.
func (l *Log) Tree() tlog.Tree { return l.log.Latest().Tree }

// Record returns the text of record id.
func (l *Log) Record(id int64) []byte {
	recs, err := l.store.ReadLogRecords(context.Background(), id, 1)
	if err != nil {
		l.t.Fatal(err)
	}
	return recs[0]
}

func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.srv.ServeHTTP(w, r) }

// Publish returns a publish event of one file.
func Publish(eco, name, version, file, sha256 string) *translog.Event {
	return &translog.Event{Kind: "publish", Ecosystem: eco, Name: name, Version: version,
		Time: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), Files: []translog.FileDigest{{Name: file, SHA256: sha256}}}
}

// Change returns an event of kind (yank, delete, …) about a version.
func Change(kind, eco, name, version, reason string) *translog.Event {
	return &translog.Event{Kind: kind, Ecosystem: eco, Name: name, Version: version,
		Time: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Reason: &reason}
}

// lookup finds the records about a version by parsing every record.
func lookup(m *memstore.Store) translog.LookupFunc {
	return func(ctx context.Context, eco, name, version string) ([]int64, error) {
		n, err := m.LogSize(ctx)
		if err != nil {
			return nil, err
		}
		texts, err := m.ReadLogRecords(ctx, 0, n)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for id, text := range texts {
			ev, err := translog.ParseEvent(text)
			if err == nil && ev.Ecosystem == eco && ev.Name == name && ev.Version == version {
				ids = append(ids, int64(id))
			}
		}
		if len(ids) == 0 {
			return nil, translog.ErrNotFound
		}
		return ids, nil
	}
}
