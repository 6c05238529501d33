package translog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// A Source is a copy of the log kept outside the database: the blob
// store's (see StateMirror), or a mirror of the public /log endpoints that
// anyone may keep (see Mirror). Nothing a source returns is trusted:
// checkpoints are checked against the log's key and origin, records
// against a signed tree hash.
type Source interface {
	// String names the source in messages.
	String() string
	// Checkpoint returns the newest signed checkpoint the source holds, or
	// an error wrapping ErrNotFound if it holds none.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Records returns the texts of records start through end-1, or an
	// error wrapping ErrNotFound if the source does not hold them all.
	Records(ctx context.Context, start, end int64) ([][]byte, error)
}

// MaxCheckpointSize bounds a checkpoint read from a source.
const MaxCheckpointSize = 64 << 10

// maxBundleSize bounds an entry bundle read from a source: 256 records of
// the largest size, each with its length.
const maxBundleSize = (1 << TileHeight) * (MaxRecordSize + 2)

// mirrorTimeout bounds each request to a mirror over HTTP.
const mirrorTimeout = 30 * time.Second

// A Mirror reads a copy of the log's public endpoints (checkpoint and
// tile/entries/…, C2SP tlog-tiles) at an http(s) URL, or in a directory
// laid out as the URL paths are: <dir>/checkpoint,
// <dir>/tile/entries/x001/234.p/5. A mirror made by copying a server's
// /log is one; so is any C2SP-compatible mirror of it.
type Mirror struct {
	base   string // URL without a trailing slash, or ""
	dir    fs.FS  // when base is ""
	name   string
	client *http.Client
}

// NewMirror returns the mirror at loc: an http:// or https:// URL (the
// prefix under which checkpoint is served, such as https://host/log), or
// the path of a directory.
func NewMirror(loc string) (*Mirror, error) {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, err := url.Parse(loc)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("log mirror %q: not a URL like https://host/log", loc)
		}
		base := strings.TrimRight(loc, "/")
		return &Mirror{base: base, name: base, client: &http.Client{Timeout: mirrorTimeout}}, nil
	}
	if strings.Contains(loc, "://") {
		return nil, fmt.Errorf("log mirror %q: want an http:// or https:// URL, or a directory", loc)
	}
	fi, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("log mirror %q: %w", loc, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("log mirror %q: not a directory", loc)
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return nil, fmt.Errorf("log mirror %q: %w", loc, err)
	}
	return &Mirror{dir: os.DirFS(abs), name: abs}, nil
}

func (m *Mirror) String() string { return m.name }

// Checkpoint returns the mirror's checkpoint.
func (m *Mirror) Checkpoint(ctx context.Context) ([]byte, error) {
	return m.get(ctx, "checkpoint", MaxCheckpointSize)
}

// Records returns records start through end-1 from the mirror's entry
// bundles. A partial bundle is read under the width needed, else as the
// full bundle, else under the width the mirror's own checkpoint gives it.
func (m *Mirror) Records(ctx context.Context, start, end int64) ([][]byte, error) {
	var out [][]byte
	const width = 1 << TileHeight
	for k := start / width; k*width < end; k++ {
		need := min(end-k*width, width)
		recs, err := m.bundle(ctx, k, need)
		if err != nil {
			return nil, err
		}
		lo, hi := max(start-k*width, 0), need
		out = append(out, recs[lo:hi]...)
	}
	return out, nil
}

// bundle returns at least need records of entry bundle k.
func (m *Mirror) bundle(ctx context.Context, k, need int64) ([][]byte, error) {
	widths := []int64{need, 1 << TileHeight}
	if cp, err := m.Checkpoint(ctx); err == nil {
		if _, t, err := parseUnverified(cp); err == nil && t.N-k<<TileHeight > need {
			widths = append(widths, min(t.N-k<<TileHeight, 1<<TileHeight))
		}
	}
	var last error
	for _, w := range widths {
		path := TilePath(tlog.Tile{H: TileHeight, L: -1, N: k, W: int(w)})
		data, err := m.get(ctx, path, maxBundleSize)
		if errors.Is(err, ErrNotFound) {
			last = err
			continue
		}
		if err != nil {
			return nil, err
		}
		recs, err := ParseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", m, path, err)
		}
		if int64(len(recs)) != w {
			return nil, fmt.Errorf("%s/%s: holds %d records, want %d", m, path, len(recs), w)
		}
		return recs, nil
	}
	return nil, last
}

// get reads one file of the mirror, of at most limit bytes.
func (m *Mirror) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	var r io.ReadCloser
	if m.base == "" {
		f, err := m.dir.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s/%s: %w", m, path, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		r = f
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/"+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := m.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading log mirror: %w", err)
		}
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			resp.Body.Close()
			return nil, fmt.Errorf("%s/%s: %s: %w", m, path, resp.Status, ErrNotFound)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%s/%s: %s", m, path, resp.Status)
		}
		r = resp.Body
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", m, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s/%s: larger than %d bytes", m, path, limit)
	}
	return b, nil
}

// parseUnverified reads a checkpoint's size without checking its
// signature, to find out which files a mirror should hold; nothing read
// this way is trusted.
func parseUnverified(cp []byte) (string, tlog.Tree, error) {
	text, _, ok := strings.Cut(string(cp), "\n\n")
	if !ok {
		return "", tlog.Tree{}, errors.New("malformed checkpoint: no signature")
	}
	return ParseCheckpoint(text + "\n")
}

// AppendBundle appends records to an entry bundle: each as its length (a
// big-endian uint16) and its bytes.
func AppendBundle(b []byte, records ...[]byte) ([]byte, error) {
	for _, r := range records {
		if len(r) > MaxRecordSize {
			return nil, fmt.Errorf("record of %d bytes does not fit an entry bundle", len(r))
		}
		b = append(b, byte(len(r)>>8), byte(len(r)))
		b = append(b, r...)
	}
	return b, nil
}

// ParseBundle splits an entry bundle into its records.
func ParseBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("malformed entry bundle: truncated length")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			return nil, errors.New("malformed entry bundle: truncated record")
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}
