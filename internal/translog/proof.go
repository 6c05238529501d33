package translog

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxProofSize bounds a proof a parser accepts: the largest record in
// base64, 63 hashes and a checkpoint with a few dozen signatures.
const MaxProofSize = 128 << 10

// A Proof proves that a record is in the tree of a signed checkpoint: the
// record's inclusion proof (tlog.ProveRecord, the hashes from the leaf's
// sibling up to the root's child, RFC 6962 §2.1.1) in that tree.
type Proof struct {
	ID         int64
	Text       []byte // the record, carried in the proof's "extra" line
	Tree       tlog.Tree
	Checkpoint []byte // the signed note of Tree
	Hashes     tlog.RecordProof
}

// Format returns the proof in the C2SP tlog-proof format: the header
// line, "extra <base64 record>" (the data needed to reconstruct the
// record hash, so the proof stands alone), "index <ID>", one base64 hash
// a line, an empty line, and the checkpoint verbatim.
func (p *Proof) Format() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if p.Text != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Text) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.ID)
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof parses a C2SP tlog-proof. It checks the form only (Tree is
// left zero): nothing in it is trusted until OpenProof has verified the
// checkpoint and the inclusion of the record.
func ParseProof(data []byte) (*Proof, error) {
	if len(data) > MaxProofSize {
		return nil, fmt.Errorf("malformed proof: longer than %d bytes", MaxProofSize)
	}
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, errors.New("malformed proof: no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return nil, fmt.Errorf("malformed proof: first line %q, want %q", clipLine(lines[0]), ProofHeader)
	}
	p := &Proof{Checkpoint: cp}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		text, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return nil, errors.New("malformed proof: extra line is not base64")
		}
		p.Text = text
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return nil, errors.New("malformed proof: no index line")
	}
	idx, ok := strings.CutPrefix(lines[0], "index ")
	id, err := strconv.ParseInt(idx, 10, 64)
	if !ok || err != nil || id < 0 || strconv.FormatInt(id, 10) != idx {
		return nil, fmt.Errorf("malformed proof: index line %q", clipLine(lines[0]))
	}
	p.ID = id
	if len(lines[1:]) > 63 {
		return nil, errors.New("malformed proof: more than 63 hashes")
	}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return nil, fmt.Errorf("malformed proof: hash line %q", clipLine(l))
		}
		p.Hashes = append(p.Hashes, tlog.Hash(h))
	}
	return p, nil
}

// OpenProof parses a C2SP tlog-proof, verifies its checkpoint with the
// log's verifier (whose name is the origin the checkpoint must carry),
// and checks that the proof puts the record at its index in the
// checkpoint's tree. The record is text, or when text is nil the proof's
// extra data (then proved like any record: a changed extra line fails
// the check). It returns the checked proof, with Text and Tree set.
func OpenProof(data []byte, verifier note.Verifier, text []byte) (*Proof, error) {
	p, err := ParseProof(data)
	if err != nil {
		return nil, err
	}
	if text != nil {
		p.Text = text
	}
	if p.Text == nil {
		return nil, errors.New("the proof carries no record (no extra line): give the record's text")
	}
	n, err := note.Open(p.Checkpoint, note.VerifierList(verifier))
	if err != nil {
		return nil, fmt.Errorf("verifying the proof's checkpoint: %w", err)
	}
	origin, tree, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != verifier.Name() {
		return nil, fmt.Errorf("the proof's checkpoint is of log %q, not %q", origin, verifier.Name())
	}
	if p.ID >= tree.N {
		return nil, fmt.Errorf("record %d is beyond the checkpoint's tree of %d records", p.ID, tree.N)
	}
	if err := tlog.CheckRecord(p.Hashes, tree.N, tree.Hash, p.ID, tlog.RecordHash(p.Text)); err != nil {
		return nil, fmt.Errorf("record %d is not in the checkpoint's tree of %d records: %w", p.ID, tree.N, err)
	}
	p.Tree = tree
	return p, nil
}

// Prove returns the proof that record id is in the tree of the latest
// signed checkpoint, signing the store's tree first (CatchUp) if the
// latest does not cover it. A record beyond every signed tree is an
// error wrapping ErrNotFound, and so is a private record the request may
// not read (*PrivateError, see GateRecords). The proof is checked before it is returned,
// so a damaged stored hash is an error here rather than a proof that
// fails for its reader.
func (s *Server) Prove(ctx context.Context, id int64) (*Proof, error) {
	if id < 0 {
		return nil, fmt.Errorf("record %d: %w", id, ErrNotFound)
	}
	signed := s.log.CatchUp(ctx, id+1)
	if id >= signed.Tree.N {
		return nil, fmt.Errorf("record %d is not in the log's latest checkpoint, a tree of %d records: %w", id, signed.Tree.N, ErrNotFound)
	}
	recs, err := s.store.ReadLogRecords(ctx, id, 1)
	if err != nil {
		return nil, fmt.Errorf("proving record %d: %w", id, err)
	}
	if err := s.mayRead(ctx, id, recs[0]); err != nil {
		return nil, err
	}
	p, err := ProveRecord(ctx, s.store, id, signed.Tree.N)
	if err != nil {
		return nil, fmt.Errorf("proving record %d: %w", id, err)
	}
	if err := tlog.CheckRecord(p, signed.Tree.N, signed.Tree.Hash, id, tlog.RecordHash(recs[0])); err != nil {
		return nil, fmt.Errorf("proving record %d: the stored hashes do not prove it: %w", id, err)
	}
	return &Proof{ID: id, Text: recs[0], Tree: signed.Tree, Checkpoint: signed.Checkpoint, Hashes: p}, nil
}

// mayRead returns nil if the request of ctx may read record id, whose
// text is text: any record that is not private, and a private one the
// gate allows; else a *PrivateError.
func (s *Server) mayRead(ctx context.Context, id int64, text []byte) error {
	if !IsPrivate(text) {
		return nil
	}
	if s.gate != nil {
		ok, err := s.gate(ctx, id)
		if err != nil {
			return fmt.Errorf("record %d: %w", id, err)
		}
		if ok {
			return nil
		}
	}
	return &PrivateError{ID: id}
}

// ParseProofPath parses the path of a proof, "proof/<N>" relative to the
// log's prefix: N is a record index in decimal without leading zeros.
func ParseProofPath(path string) (int64, error) {
	rest, ok := strings.CutPrefix(path, "proof/")
	if !ok {
		return 0, fmt.Errorf("malformed proof path %q", clipLine(path))
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id < 0 || strconv.FormatInt(id, 10) != rest {
		return 0, fmt.Errorf("malformed proof path %q: want proof/<record index>, a decimal number without leading zeros", clipLine(path))
	}
	return id, nil
}

// clipLine shortens untrusted text quoted in an error.
func clipLine(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
