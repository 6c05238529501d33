package backup

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
)

// ErrBehind reports a database whose log is smaller than a checkpoint the
// log already signed: backing it up would preserve a rollback.
var ErrBehind = errors.New("the database's transparency log is behind a signed checkpoint")

// A Checkpoint is a signed checkpoint of the log and where it was found.
type Checkpoint struct {
	Source string // for messages: "the blob store's state object checkpoint", a file name
	Note   []byte
}

// A signed is a verified checkpoint.
type signed struct {
	Checkpoint
	tree tlog.Tree
}

// Options say what Write backs up.
type Options struct {
	DB          *meta.DB
	Blobs       blob.Store
	VerifierKey string // the log's public key
	// Checkpoints are the signed checkpoints the server keeps: Write keeps
	// the newest that the snapshot's log extends.
	Checkpoints []Checkpoint
	SigningKey  []byte // the log's private key; nil leaves it out
	Now         time.Time
}

// Write streams a backup to w and returns its manifest. It reads every
// table in one snapshot, so it runs beside a serving server.
func Write(ctx context.Context, w io.Writer, o Options) (*Manifest, error) {
	v, err := note.NewVerifier(o.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	cps, err := verifyAll(v, o.Checkpoints)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, Created: o.Now.UTC(),
		Log: LogInfo{Origin: v.Name(), KeyHash: fmt.Sprintf("%08x", v.KeyHash()), SigningKey: o.SigningKey != nil}}
	zw := &zipWriter{zw: zip.NewWriter(w), m: m}
	err = o.DB.Snapshot(ctx, func(s *meta.Snapshot) error {
		cp, err := pickCheckpoint(ctx, s, cps)
		if err != nil {
			return err
		}
		if m.Schema, err = s.SchemaVersion(ctx); err != nil {
			return err
		}
		if m.Log.Records, err = s.LogSize(ctx); err != nil {
			return err
		}
		if err := zw.small(verifierName, []byte(o.VerifierKey+"\n")); err != nil {
			return err
		}
		if cp != nil {
			m.Log.Signed = cp.tree.N
			if err := zw.small(checkpointName, cp.Note); err != nil {
				return err
			}
		}
		if err := writeTables(ctx, s, zw); err != nil {
			return err
		}
		return writeBlobs(ctx, s, o.Blobs, zw)
	})
	if err != nil {
		return nil, err
	}
	if o.SigningKey != nil {
		if err := zw.small(signerName, o.SigningKey); err != nil {
			return nil, err
		}
	}
	return m, zw.close()
}

// verifyAll verifies each checkpoint with the log's key.
func verifyAll(v note.Verifier, cps []Checkpoint) ([]signed, error) {
	var out []signed
	for _, c := range cps {
		n, err := note.Open(c.Note, note.VerifierList(v))
		if err != nil {
			return nil, fmt.Errorf("the checkpoint in %s does not verify with the log's key %s: %w", c.Source, v.Name(), err)
		}
		origin, tree, err := translog.ParseCheckpoint(n.Text)
		if err != nil {
			return nil, fmt.Errorf("the checkpoint in %s: %w", c.Source, err)
		}
		if origin != v.Name() {
			return nil, fmt.Errorf("the checkpoint in %s is of log %q, not %q", c.Source, origin, v.Name())
		}
		out = append(out, signed{Checkpoint: c, tree: tree})
	}
	return out, nil
}

// pickCheckpoint returns the newest checkpoint that the store's log
// extends (nil if there is none and the log is empty), and refuses a log
// behind, or forked from, any of them.
func pickCheckpoint(ctx context.Context, s translog.Store, cps []signed) (*signed, error) {
	size, err := s.LogSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading log size: %w", err)
	}
	var best *signed
	for i, c := range cps {
		if c.tree.N > size {
			return nil, fmt.Errorf("%w: it holds %d records, but %s signs %d", ErrBehind, size, c.Source, c.tree.N)
		}
		t, err := translog.TreeOf(ctx, s, c.tree.N)
		if err != nil {
			return nil, err
		}
		if t.Hash != c.tree.Hash {
			return nil, fmt.Errorf("%w: the database's first %d records are not those %s signs", translog.ErrFork, c.tree.N, c.Source)
		}
		if best == nil || c.tree.N > best.tree.N {
			best = &cps[i]
		}
	}
	if best == nil && size > 0 {
		return nil, fmt.Errorf("no signed checkpoint covers the database's log of %d records (has trove serve run on this data directory?)", size)
	}
	return best, nil
}

func writeTables(ctx context.Context, s *meta.Snapshot, zw *zipWriter) error {
	for _, table := range meta.DumpTables() {
		pw, err := zw.create(tablePrefix + table + tableSuffix)
		if err != nil {
			return err
		}
		n, err := s.DumpTable(ctx, table, pw)
		if err != nil {
			return err
		}
		pw.done()
		zw.m.Tables = append(zw.m.Tables, Table{Name: table, Rows: n})
	}
	return nil
}

// A zipWriter writes parts and records them in the manifest.
type zipWriter struct {
	zw *zip.Writer
	m  *Manifest
}

// A partWriter hashes and counts a part as it is written.
type partWriter struct {
	w    io.Writer
	h    hash.Hash
	n    int64
	zw   *zipWriter
	name string
}

func (p *partWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	return n, err
}

// done records the part in the manifest.
func (p *partWriter) done() {
	p.zw.m.Parts = append(p.zw.m.Parts, Part{Name: p.name, Bytes: p.n, SHA256: hex.EncodeToString(p.h.Sum(nil))})
}

func (z *zipWriter) create(name string) (*partWriter, error) {
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.m.Created})
	if err != nil {
		return nil, fmt.Errorf("writing backup part %s: %w", name, err)
	}
	return &partWriter{w: w, h: sha256.New(), zw: z, name: name}, nil
}

func (z *zipWriter) small(name string, data []byte) error {
	pw, err := z.create(name)
	if err != nil {
		return err
	}
	if _, err := pw.Write(data); err != nil {
		return fmt.Errorf("writing backup part %s: %w", name, err)
	}
	pw.done()
	return nil
}

// close writes the manifest and the zip directory.
func (z *zipWriter) close() error {
	b, err := json.MarshalIndent(z.m, "", "  ")
	if err != nil {
		return err
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: manifestName, Method: zip.Deflate, Modified: z.m.Created})
	if err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	if err := z.zw.Close(); err != nil {
		return fmt.Errorf("finishing backup archive: %w", err)
	}
	return nil
}
