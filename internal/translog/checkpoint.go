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
//
// The newest checkpoint it ever published is kept outside the database:
// in a local state file, in a StateStore (the blob store, with a copy of
// every record: StateMirror) and at any mirrors of /log. At start, and
// before every signature, the log takes the newest valid one of them
// (signed by its key, with its origin). A database whose log is behind it
// makes the log read-only (Writable returns a *BehindError) until the
// missing records are recovered (Missing); a database that differs from
// it within the signed tree is refused with a *ForkError. Nothing that
// contradicts a published checkpoint is ever signed.
type Log struct {
	store    Store
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	opts     Options
	state    *StateMirror // nil without Options.State

	mu     sync.Mutex // serializes Sign, Refresh and Missing
	latest atomic.Pointer[Signed]
	held   atomic.Pointer[BehindError]
	// Sizes of the checkpoints in the state file and the state store, so
	// that a signature replaces only older ones.
	fileN, stateN int64
}

// Options say where a Log keeps its checkpoints outside the database.
type Options struct {
	// StatePath is the local file holding the last checkpoint signed.
	StatePath string
	// State keeps the checkpoint and a copy of every record (nil: none).
	State StateStore
	// Mirrors are copies of /log that others keep; their checkpoints hold
	// the database to what was published, their records recover it.
	Mirrors []Source
}

// Open is OpenWith with only a local state file.
func Open(ctx context.Context, s Store, signer note.Signer, vkey, statePath string) (*Log, error) {
	return OpenWith(ctx, s, signer, vkey, Options{StatePath: statePath})
}

// OpenWith checks the store against the newest checkpoint kept outside it
// (see Log). It refuses a fork with a *ForkError (wrapping ErrFork) and
// opens a log whose database is behind as read-only. Otherwise it signs
// the current tree.
func OpenWith(ctx context.Context, s Store, signer note.Signer, vkey string, o Options) (*Log, error) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	l := &Log{store: s, signer: signer, verifier: verifier, vkey: vkey, opts: o, fileN: -1, stateN: -1}
	if o.State != nil {
		l.state = NewStateMirror(o.State)
	}
	l.mu.Lock()
	err = l.refresh(ctx, true, nil)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if l.held.Load() == nil {
		if _, err := l.Sign(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Origin returns the log's name: the checkpoint origin and key name.
func (l *Log) Origin() string { return l.signer.Name() }

// VerifierKey returns the public key that verifies the log's signatures.
func (l *Log) VerifierKey() string { return l.vkey }

// Latest returns the newest signed tree head: the last one signed, or a
// newer one found outside the database while the log is behind it.
func (l *Log) Latest() *Signed { return l.latest.Load() }

// Writable returns nil if the database holds the newest checkpoint's
// tree, and the *BehindError (wrapping ErrRollback) saying what is
// missing while it does not. Writers must not append while it fails.
func (l *Log) Writable() error {
	if b := l.held.Load(); b != nil {
		return b
	}
	return nil
}

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
		return &ForkError{Size: t.N, Source: "the last checkpoint signed", Got: got.Hash, Want: t.Hash, Record: -1}
	}
	return nil
}

// Sign signs the store's current tree, after checking that it extends the
// newest tree published (see Log), copies the new records and the
// checkpoint outside the database, and only then makes it the latest.
// Signing an unchanged tree returns the last signature. A database
// behind the newest checkpoint is a *BehindError and signs nothing.
func (l *Log) Sign(ctx context.Context) (*Signed, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Read the checkpoints kept outside first: any of them another
	// replica wrote covers records committed before the size read next.
	if err := l.refresh(ctx, false, nil); err != nil {
		return nil, err
	}
	if b := l.held.Load(); b != nil {
		return nil, b
	}
	n, err := l.store.LogSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading log size: %w", err)
	}
	last := l.latest.Load()
	if last != nil && last.Tree.N == n {
		return last, l.persist(ctx, last)
	}
	if last != nil {
		if err := l.check(ctx, last.Tree); err != nil {
			return nil, err
		}
	}
	s, err := l.signTree(ctx, n)
	if err != nil {
		return nil, err
	}
	l.latest.Store(s)
	return s, nil
}

// signTree signs the tree of n records and keeps the checkpoint outside
// the database.
func (l *Log) signTree(ctx context.Context, n int64) (*Signed, error) {
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
	s := &Signed{Tree: tree, Checkpoint: cp, GoSumTree: gs}
	return s, l.persist(ctx, s)
}

// persist keeps s in the state store, after the records it covers, and in
// the state file, where they hold an older checkpoint. The store's copy
// of the records starts where its checkpoint ends (at 0 without one: the
// first start of a log that had no state store copies every record).
func (l *Log) persist(ctx context.Context, s *Signed) error {
	if l.state != nil && l.stateN < s.Tree.N {
		if err := l.state.write(ctx, l.store, max(l.stateN, 0), s.Tree.N); err != nil {
			return err
		}
		if err := l.opts.State.WriteState(ctx, CheckpointState, s.Checkpoint); err != nil {
			return fmt.Errorf("keeping the checkpoint in %s: %w", l.state, err)
		}
		l.stateN = s.Tree.N
	}
	if l.opts.StatePath != "" && l.fileN < s.Tree.N {
		if err := os.MkdirAll(filepath.Dir(l.opts.StatePath), 0o700); err != nil {
			return fmt.Errorf("keeping the checkpoint: %w", err)
		}
		if err := WriteFileAtomic(l.opts.StatePath, s.Checkpoint, 0o644); err != nil {
			return err
		}
		l.fileN = s.Tree.N
	}
	return nil
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
