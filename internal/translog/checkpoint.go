package translog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors Open returns when the database does not hold what this log signed.
var (
	// ErrRollback reports a database with fewer records than the last
	// signed checkpoint: an old backup was restored, or records were removed.
	ErrRollback = errors.New("transparency log rolled back")
	// ErrFork reports a database whose first records differ from those the
	// last signed checkpoint covers.
	ErrFork = errors.New("transparency log forked")
)

// A Signed is a tree head signed in both formats.
type Signed struct {
	Tree tlog.Tree
	// Checkpoint is the C2SP tlog-checkpoint signed note:
	// "<origin>\n<size>\n<base64 root hash>\n" and its signature.
	Checkpoint []byte
	// GoSumTree is the same tree as the Go checksum database's signed tree
	// note ("go.sum database tree\n<size>\n<hash>\n"), for sumdb.Server.
	GoSumTree []byte
}

// FormatCheckpoint returns the C2SP checkpoint body of a tree.
func FormatCheckpoint(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// ParseCheckpoint parses a C2SP checkpoint body (after its signature was
// checked with note.Open). Extension lines after the hash are allowed.
func ParseCheckpoint(text string) (origin string, t tlog.Tree, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return "", t, errors.New("malformed checkpoint: want origin, size and hash lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return "", t, fmt.Errorf("malformed checkpoint: size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", t, fmt.Errorf("malformed checkpoint: hash %q", lines[2])
	}
	t.N = n
	copy(t.Hash[:], h)
	return lines[0], t, nil
}

// Keys
//
// The signing key lives in <dir>/signer.key (mode 0600) and the public
// verifier key in <dir>/verifier.key, both in the note key formats. The
// key's name is the log's origin and the Go checksum database's name; it
// is fixed when the key is made.

// LoadVerifierKey returns the verifier key under dir without creating
// one; an error wrapping os.ErrNotExist means there is none yet.
func LoadVerifierKey(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "verifier.key"))
	if err != nil {
		return "", fmt.Errorf("reading log verifier key: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if _, err := note.NewVerifier(v); err != nil {
		return "", fmt.Errorf("reading log verifier key %s: %w", filepath.Join(dir, "verifier.key"), err)
	}
	return v, nil
}

// LoadOrCreateKey returns the log's signer and verifier key, creating
// them under dir with the given name if they do not exist.
func LoadOrCreateKey(dir, name string) (note.Signer, string, error) {
	skeyPath, vkeyPath := filepath.Join(dir, "signer.key"), filepath.Join(dir, "verifier.key")
	skey, err := os.ReadFile(skeyPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", fmt.Errorf("creating log key directory: %w", err)
		}
		s, v, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, "", fmt.Errorf("generating log key %q: %w", name, err)
		}
		if err := WriteFileAtomic(vkeyPath, []byte(v+"\n"), 0o644); err != nil {
			return nil, "", err
		}
		if err := WriteFileAtomic(skeyPath, []byte(s+"\n"), 0o600); err != nil {
			return nil, "", err
		}
		skey = []byte(s)
	} else if err != nil {
		return nil, "", fmt.Errorf("reading log key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, "", fmt.Errorf("reading log key %s: %w", skeyPath, err)
	}
	vkey, err := os.ReadFile(vkeyPath)
	if err != nil {
		return nil, "", fmt.Errorf("reading log verifier key: %w", err)
	}
	v := strings.TrimSpace(string(vkey))
	verifier, err := note.NewVerifier(v)
	if err != nil || verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return nil, "", fmt.Errorf("log verifier key %s does not match the signer key", vkeyPath)
	}
	return signer, v, nil
}

// WriteFileAtomic replaces the file at path with data, durably: a
// temporary file in the same directory, synced, then renamed over it. A
// crash leaves the old content or the new, never a mix.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// A Log signs the tree of a Store and remembers the last tree it signed.
type Log struct {
	store     Store
	signer    note.Signer
	verifier  note.Verifier
	vkey      string
	statePath string

	mu     sync.Mutex // serializes Sign
	latest atomic.Pointer[Signed]
}

// Open checks the store against the last checkpoint recorded in
// statePath, refusing with ErrRollback or ErrFork if the store's tree is
// not that tree or an extension of it, and signs the current tree.
func Open(ctx context.Context, s Store, signer note.Signer, vkey, statePath string) (*Log, error) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	l := &Log{store: s, signer: signer, verifier: verifier, vkey: vkey, statePath: statePath}
	data, err := os.ReadFile(statePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// First start (or a data directory without state): nothing to hold the database to.
	case err != nil:
		return nil, fmt.Errorf("reading last signed checkpoint: %w", err)
	default:
		last, err := l.parseSigned(data)
		if err != nil {
			return nil, fmt.Errorf("last signed checkpoint %s: %w", statePath, err)
		}
		if err := l.check(ctx, last.Tree); err != nil {
			return nil, err
		}
		l.latest.Store(last)
	}
	if _, err := l.Sign(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Origin returns the log's name: the checkpoint origin and key name.
func (l *Log) Origin() string { return l.signer.Name() }

// VerifierKey returns the public key that verifies the log's signatures.
func (l *Log) VerifierKey() string { return l.vkey }

// Latest returns the last signed tree head.
func (l *Log) Latest() *Signed { return l.latest.Load() }

// check verifies that the store holds the tree t, or an extension of it.
func (l *Log) check(ctx context.Context, t tlog.Tree) error {
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("reading log size: %w", err)
	}
	if n < t.N {
		return fmt.Errorf("%w: the database holds %d records, but this log signed a tree of %d; refusing to serve a smaller log (was an old backup restored?)", ErrRollback, n, t.N)
	}
	got, err := TreeOf(ctx, l.store, t.N)
	if err != nil {
		return err
	}
	if got.Hash != t.Hash {
		return fmt.Errorf("%w: the database's first %d records hash to %v, but this log signed %v for them; refusing to serve", ErrFork, t.N, got.Hash, t.Hash)
	}
	return nil
}

// Sign signs the store's current tree, after checking that it extends the
// last tree signed, and records it in the state file. Signing an
// unchanged tree returns the last signature.
func (l *Log) Sign(ctx context.Context) (*Signed, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading log size: %w", err)
	}
	last := l.latest.Load()
	if last != nil && last.Tree.N == n {
		return last, nil
	}
	if last != nil {
		if err := l.check(ctx, last.Tree); err != nil {
			return nil, err
		}
	}
	tree, err := TreeOf(ctx, l.store, n)
	if err != nil {
		return nil, err
	}
	cp, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(l.Origin(), tree))}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	gs, err := note.Sign(&note.Note{Text: string(tlog.FormatTree(tree))}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("signing tree note: %w", err)
	}
	if err := WriteFileAtomic(l.statePath, cp, 0o644); err != nil {
		return nil, err
	}
	s := &Signed{Tree: tree, Checkpoint: cp, GoSumTree: gs}
	l.latest.Store(s)
	return s, nil
}

// parseSigned verifies a signed checkpoint of this log and rebuilds both notes.
func (l *Log) parseSigned(data []byte) (*Signed, error) {
	n, err := note.Open(data, note.VerifierList(l.verifier))
	if err != nil {
		return nil, fmt.Errorf("verifying: %w", err)
	}
	origin, tree, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != l.Origin() {
		return nil, fmt.Errorf("origin %q is not this log's %q", origin, l.Origin())
	}
	gs, err := note.Sign(&note.Note{Text: string(tlog.FormatTree(tree))}, l.signer)
	if err != nil {
		return nil, err
	}
	return &Signed{Tree: tree, Checkpoint: bytes.Clone(data), GoSumTree: gs}, nil
}
