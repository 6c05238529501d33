package translog_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/pgtest"
	"github.com/trove-dev/trove/internal/translog"
)

// slowState is a StateStore in memory, slow to write as a bucket is, that
// records the size of every checkpoint written to it.
type slowState struct {
	mu    sync.Mutex
	m     map[string][]byte
	sizes []int64
}

func (s *slowState) ReadState(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	if !ok {
		return nil, fmt.Errorf("state %s: %w", name, translog.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (s *slowState) WriteState(ctx context.Context, name string, data []byte) error {
	time.Sleep(2 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = bytes.Clone(data)
	if name == translog.CheckpointState {
		n, err := note.Open(data, note.VerifierList(verifierOf(data)))
		if err == nil {
			if _, tree, err := translog.ParseCheckpoint(n.Text); err == nil {
				s.sizes = append(s.sizes, tree.N)
			}
		}
	}
	return nil
}

var testVerifier note.Verifier

func verifierOf([]byte) note.Verifier { return testVerifier }

// TestReplicasSignInOrder: two replicas (two connection pools on one
// PostgreSQL database, one key, one state store) append and sign at once.
// The checkpoint kept in the state store never goes backwards, and the
// store's copy of the records matches the database's.
func TestReplicasSignInOrder(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var dbs [2]*meta.DB
	for i := range dbs {
		db, err := meta.OpenPostgres(ctx, url, meta.PostgresOptions{MaxOpenConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	signer, vkey, err := translog.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"), "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	if testVerifier, err = note.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	state := &slowState{m: map[string][]byte{}}
	var logs [2]*translog.Log
	for i, db := range dbs {
		l, err := translog.OpenWith(ctx, db, signer, vkey, translog.Options{State: state,
			StatePath: filepath.Join(t.TempDir(), "checkpoint")})
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = l
	}
	const perReplica = 60
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perReplica {
				err := db.Tx(ctx, func(tx *meta.Tx) error {
					_, err := translog.Append(ctx, tx, []byte(fmt.Sprintf("replica %d record %d\n", i, k)))
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := logs[i].Sign(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	state.mu.Lock()
	sizes := state.sizes
	state.mu.Unlock()
	for i := 1; i < len(sizes); i++ {
		if sizes[i] < sizes[i-1] {
			t.Fatalf("the kept checkpoint went backwards: %d records, then %d (sizes written: %v)", sizes[i-1], sizes[i], sizes)
		}
	}
	if last := sizes[len(sizes)-1]; last != 2*perReplica {
		t.Fatalf("last kept checkpoint covers %d records, want %d", last, 2*perReplica)
	}
	want, err := dbs[0].ReadLogRecords(ctx, 0, 2*perReplica)
	if err != nil {
		t.Fatal(err)
	}
	got, err := translog.NewStateMirror(state).Records(ctx, 0, 2*perReplica)
	if err != nil {
		t.Fatalf("the state store's copy of the records: %v", err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: the state store holds %q, the database %q", i, got[i], want[i])
		}
	}
}

// TestCatchUpServesAnotherReplicasTree: a replica asked for a tree
// another replica signed signs it (or takes the kept checkpoint) instead
// of answering with its older one.
func TestCatchUpServesAnotherReplicasTree(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var dbs [2]*meta.DB
	for i := range dbs {
		db, err := meta.OpenPostgres(ctx, url, meta.PostgresOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	signer, vkey, err := translog.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"), "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	state := &slowState{m: map[string][]byte{}}
	testVerifier, _ = note.NewVerifier(vkey)
	a, err := translog.OpenWith(ctx, dbs[0], signer, vkey, translog.Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	b, err := translog.OpenWith(ctx, dbs[1], signer, vkey, translog.Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		if err := dbs[1].Tx(ctx, func(tx *meta.Tx) error {
			_, err := translog.Append(ctx, tx, []byte(fmt.Sprintf("record %d\n", k)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := b.Sign(ctx); err != nil || s.Tree.N != 3 {
		t.Fatalf("b signed %v, %v; want 3 records", s, err)
	}
	if n := a.Latest().Tree.N; n != 0 {
		t.Fatalf("a's latest covers %d records before catching up, want 0", n)
	}
	if s := a.CatchUp(ctx, 3); s.Tree.N != 3 || s.Tree.Hash != b.Latest().Tree.Hash {
		t.Fatalf("a caught up to %d records, want b's tree of 3", s.Tree.N)
	}
}
