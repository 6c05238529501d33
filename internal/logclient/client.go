// Package logclient verifies a Trove registry's transparency log from the
// outside: it proves that records are in the log, and that the log only
// ever grew since the client last looked.
//
// It follows golang.org/x/mod/sumdb's Client. All hashing, proofs and tile
// authentication come from golang.org/x/mod/sumdb/tlog, all signatures
// from golang.org/x/mod/sumdb/note; this package writes no Merkle code.
//
// # Invariants
//
//   - Nothing the server sends is trusted before it is verified: the
//     checkpoint by its signature (with a verifier key the user supplies;
//     trust on first use is not verification), tiles by tlog.TileHashReader
//     against a verified tree, records by an inclusion proof.
//   - The client stores the largest checkpoint it verified (Ops.WriteConfig)
//     and accepts a new checkpoint only if it is consistent with the stored
//     one: a larger tree must extend it, a tree of the same size must be
//     the same tree, and a smaller tree must be a prefix of it, proven
//     from tiles the server still serves (or the server rolled back).
//   - A failed consistency proof is a [SecurityError]: the client reports
//     both signed heads through Ops.SecurityError, as evidence anyone can
//     check, and leaves the stored checkpoint unchanged.
//
// # Limits
//
// A client only sees the tree the server shows it. Two clients shown
// different forks each see a consistent log; comparing stored checkpoints
// (gossip, or an auditor's copy) is what exposes such a split view.
package logclient

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog"
)

// An Ops gives a Client access to the log server and to its local state.
// Its methods must be safe for concurrent use.
type Ops interface {
	// ReadRemote returns the body at path relative to the log's base URL,
	// such as "checkpoint", "tile/0/x001/234" or "lookup/npm/left-pad/1.0.0"
	// (path segments escaped). A resource the server does not have is an
	// error wrapping ErrNotFound.
	ReadRemote(path string) ([]byte, error)
	// ReadConfig returns the content of the state file, or nil, nil when
	// it does not exist yet.
	ReadConfig(file string) ([]byte, error)
	// WriteConfig atomically replaces the state file's content old with
	// new. If the file no longer holds old (another client wrote it), it
	// returns ErrWriteConflict and writes nothing.
	WriteConfig(file string, old, new []byte) error
	// SecurityError reports evidence of log misbehavior to the user. The
	// Client still returns a *SecurityError afterwards.
	SecurityError(msg string)
}

// Errors a Client returns, or wraps.
var (
	// ErrNotFound is what Ops.ReadRemote wraps for a missing resource.
	ErrNotFound = errors.New("not found")
	// ErrWriteConflict is what Ops.WriteConfig returns when the state
	// changed under it.
	ErrWriteConflict = errors.New("write conflict")
	// ErrSecurity is what every *SecurityError unwraps to.
	ErrSecurity = errors.New("security error: the transparency log misbehaved")
	// ErrNotProved reports a record the server claims but could not prove
	// to be in the log.
	ErrNotProved = errors.New("record not proved to be in the log")
	// ErrBadSignature reports a checkpoint the verifier key does not
	// verify: another log's key, or a checkpoint not signed by this log.
	ErrBadSignature = errors.New("the checkpoint is not signed by the key given")
)

// CheckpointFile is the state file holding the last verified checkpoint.
const CheckpointFile = "checkpoint"

// A SecurityError is evidence that the log is not append-only: a fork, a
// rollback, or tiles that do not match the tree the log signed.
type SecurityError struct {
	Reason string
	Stored []byte // the signed checkpoint verified earlier (nil if none)
	New    []byte // the signed checkpoint the server sent now
}

func (e *SecurityError) Error() string { return "security error: " + e.Reason }
func (e *SecurityError) Unwrap() error { return ErrSecurity }

// A Checkpoint is a verified signed tree head.
type Checkpoint struct {
	Tree tlog.Tree
	Note []byte // the signed note, as the server sent it
}

// A Client verifies one log.
type Client struct {
	ops      Ops
	verifier note.Verifier
	tiles    tileReader

	mu     sync.Mutex
	latest *Checkpoint // the tree proofs are made against
}

// New returns a client of the log whose verifier key (the note verifier
// key format, "<origin>+<hash>+<key>") is vkey. The key's name is the
// origin every checkpoint must carry.
func New(ops Ops, vkey string) (*Client, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	return &Client{ops: ops, verifier: v, tiles: tileReader{ops: ops}}, nil
}

// Origin returns the log's origin, the name of its key.
func (c *Client) Origin() string { return c.verifier.Name() }

// Latest fetches the log's checkpoint, verifies it and checks it against
// the stored one (see the package doc), storing it if it is newer.
func (c *Client) Latest() (*Checkpoint, error) {
	msg, err := c.ops.ReadRemote("checkpoint")
	if err != nil {
		return nil, fmt.Errorf("fetching checkpoint: %w", err)
	}
	return c.merge(msg)
}

// open verifies a signed checkpoint.
func (c *Client) open(msg []byte) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(c.verifier))
	if err != nil {
		return nil, fmt.Errorf("verifying checkpoint signature with key %s: %w: %w", c.Origin(), ErrBadSignature, err)
	}
	origin, t, err := translog.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != c.Origin() {
		return nil, fmt.Errorf("checkpoint is for log %q, not %q", origin, c.Origin())
	}
	return &Checkpoint{Tree: t, Note: bytes.Clone(msg)}, nil
}

// merge verifies a signed checkpoint and checks it against the stored one.
func (c *Client) merge(msg []byte) (*Checkpoint, error) {
	cp, err := c.open(msg)
	if err != nil {
		return nil, err
	}
	for range 10 {
		storedMsg, err := c.ops.ReadConfig(CheckpointFile)
		if err != nil {
			return nil, fmt.Errorf("reading stored checkpoint: %w", err)
		}
		if len(storedMsg) == 0 {
			if err := c.ops.WriteConfig(CheckpointFile, nil, cp.Note); errors.Is(err, ErrWriteConflict) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("storing checkpoint: %w", err)
			}
			c.use(cp)
			return cp, nil
		}
		stored, err := c.open(storedMsg)
		if err != nil {
			return nil, fmt.Errorf("stored checkpoint (was the key changed?): %w", err)
		}
		switch {
		case cp.Tree.N == stored.Tree.N:
			if cp.Tree.Hash != stored.Tree.Hash {
				return nil, c.misbehaved(fmt.Sprintf("fork: two different trees of size %d signed", cp.Tree.N), stored, cp, "")
			}
		case cp.Tree.N > stored.Tree.N:
			if err := c.checkTrees(stored, cp, false); err != nil {
				return nil, err
			}
			if err := c.ops.WriteConfig(CheckpointFile, storedMsg, cp.Note); errors.Is(err, ErrWriteConflict) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("storing checkpoint: %w", err)
			}
		default:
			// An older tree (a lagging mirror, or a rollback): it must be a
			// prefix of the stored tree, which the server must still serve.
			// The stored checkpoint stays.
			if err := c.checkTrees(cp, stored, true); err != nil {
				return nil, err
			}
		}
		c.use(cp)
		return cp, nil
	}
	return nil, errors.New("storing checkpoint: the state kept changing under us")
}

// use makes cp the tree of later proofs, unless a larger tree is in use.
func (c *Client) use(cp *Checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latest == nil || cp.Tree.N > c.latest.Tree.N {
		c.latest = cp
	}
}

// checkTrees proves that older is a prefix of newer, reading the tiles of
// newer. rollback says older is the server's checkpoint and newer the stored
// one, so that tiles missing from the server mean it rolled back.
func (c *Client) checkTrees(older, newer *Checkpoint, rollback bool) error {
	stored, served := older, newer
	if rollback {
		stored, served = newer, older
	}
	hr := tlog.TileHashReader(newer.Tree, &c.tiles)
	p, err := tlog.ProveTree(newer.Tree.N, older.Tree.N, hr)
	if err != nil {
		var fe *fetchError
		switch {
		case errors.As(err, &fe) && rollback && errors.Is(err, ErrNotFound):
			return c.misbehaved(fmt.Sprintf("rollback: the log now signs a tree of %d records, and no longer serves the tree of %d it signed before", older.Tree.N, newer.Tree.N), stored, served, err.Error())
		case errors.As(err, &fe):
			return fmt.Errorf("proving tree %d is a prefix of tree %d: %w", older.Tree.N, newer.Tree.N, err)
		}
		return c.misbehaved(fmt.Sprintf("the log's tiles do not match the tree of %d it signed", newer.Tree.N), stored, served, err.Error())
	}
	if err := tlog.CheckTree(p, newer.Tree.N, newer.Tree.Hash, older.Tree.N, older.Tree.Hash); err != nil {
		// The tiles of newer, authenticated by its signed hash, give another
		// hash for the first older.N records than older's signed hash.
		var evidence string
		if h, err := tlog.TreeHash(older.Tree.N, hr); err == nil {
			evidence = fmt.Sprintf("the tree of %d signed with hash %v hashes its first %d records to %v", newer.Tree.N, newer.Tree.Hash, older.Tree.N, h)
		}
		return c.misbehaved(fmt.Sprintf("fork: the tree of %d records is not a prefix of the tree of %d", older.Tree.N, newer.Tree.N), stored, served, evidence)
	}
	return nil
}

// misbehaved reports evidence of a fork through Ops.SecurityError.
func (c *Client) misbehaved(reason string, stored, served *Checkpoint, detail string) error {
	var b bytes.Buffer
	indent := func(note []byte) string {
		lines := strings.Split(strings.TrimSuffix(string(note), "\n"), "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = "\t" + l
			}
		}
		return strings.Join(lines, "\n")
	}
	fmt.Fprintf(&b, "SECURITY ERROR\n")
	fmt.Fprintf(&b, "transparency log %s misbehaved: %s\n\n", c.Origin(), reason)
	if bytes.Equal(stored.Note, served.Note) {
		fmt.Fprintf(&b, "signed checkpoint:\n%s\n", indent(served.Note))
	} else {
		fmt.Fprintf(&b, "stored checkpoint (verified earlier, kept unchanged):\n%s\n\n", indent(stored.Note))
		fmt.Fprintf(&b, "checkpoint served now:\n%s\n", indent(served.Note))
	}
	if detail != "" {
		fmt.Fprintf(&b, "\ndetail: %s\n", detail)
	}
	if !bytes.Equal(stored.Note, served.Note) {
		fmt.Fprintf(&b, "\nBoth checkpoints carry the log's signature: together they prove the log is not append-only.\n")
	}
	c.ops.SecurityError(b.String())
	return &SecurityError{Reason: reason, Stored: stored.Note, New: served.Note}
}

// ProveRecord proves that text is record id of the tree of cp.
func (c *Client) ProveRecord(cp *Checkpoint, id int64, text []byte) error {
	if id < 0 || id >= cp.Tree.N {
		return fmt.Errorf("%w: record %d is outside the tree of %d records", ErrNotProved, id, cp.Tree.N)
	}
	hr := tlog.TileHashReader(cp.Tree, &c.tiles)
	p, err := tlog.ProveRecord(cp.Tree.N, id, hr)
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return fmt.Errorf("proving record %d: %w", id, err)
		}
		return c.misbehaved(fmt.Sprintf("the log's tiles do not match the tree of %d it signed", cp.Tree.N), cp, cp, err.Error())
	}
	if err := tlog.CheckRecord(p, cp.Tree.N, cp.Tree.Hash, id, tlog.RecordHash(text)); err != nil {
		return fmt.Errorf("%w: record %d does not hash into the tree of %d records", ErrNotProved, id, cp.Tree.N)
	}
	return nil
}

// A fetchError is a failure to download a tile: not evidence of anything.
type fetchError struct {
	path string
	err  error
}

func (e *fetchError) Error() string { return "fetching " + e.path + ": " + e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// tileReader reads the log's C2SP hash tiles for tlog.TileHashReader,
// keeping the tiles tlog authenticated in memory for the client's life.
type tileReader struct {
	ops Ops

	mu    sync.Mutex
	saved map[tlog.Tile][]byte
}

func (r *tileReader) Height() int { return translog.TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		r.mu.Lock()
		b, ok := r.saved[t]
		r.mu.Unlock()
		if ok {
			data[i] = b
			continue
		}
		p := translog.TilePath(t)
		b, err := r.ops.ReadRemote(p)
		if err != nil {
			return nil, &fetchError{p, err}
		}
		data[i] = b
	}
	return data, nil
}

// SaveTiles keeps tiles that tlog authenticated against a signed tree.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved == nil {
		r.saved = map[tlog.Tile][]byte{}
	}
	for i, t := range tiles {
		r.saved[t] = data[i]
	}
}
