// Package osv publishes the releases Trove's administrators took down as
// malicious as OSV records (https://ossf.github.io/osv-schema/), the
// format the OSV tools and curation block lists read:
//
//	GET /osv/                 → {"records": [{"id", "modified"}, …]}, by id
//	GET /osv/MAL-YYYY-N.json  → one record
//	GET /osv/all.zip          → every record, one MAL-YYYY-N.json file each
//
// A record's id is MAL-<year it was published>-<serial>, the serial
// being Trove's own advisory number: stable for the life of the registry
// (a recovery from the transparency log numbers them again in log order,
// as they were first). Its database_specific.source says which registry
// published it. A takedown withdrawn later keeps its record, with
// "withdrawn" set. Private packages never appear.
//
// Answers carry an ETag over the whole feed and are cached for a minute;
// the feed holds at most MaxRecords records, so the zip is bounded too.
package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// MaxRecords bounds the records the feed holds (the oldest first), and so
// the size of all.zip (records are a few hundred bytes each).
const MaxRecords = 100_000

// An Advisory is a release taken down as malicious.
type Advisory struct {
	Serial    int64
	Ecosystem trove.Ecosystem
	Name      string
	Version   string
	Summary   string // the administrator's reason
	Published time.Time
	Modified  time.Time
	Withdrawn time.Time // zero unless withdrawn
}

// ID returns the advisory's OSV id.
func (a *Advisory) ID() string {
	return fmt.Sprintf("MAL-%d-%d", a.Published.Year(), a.Serial)
}

// A Source lists the advisories of public packages, by serial.
type Source interface {
	// Advisories returns at most limit advisories, oldest first.
	Advisories(ctx context.Context, limit int) ([]*Advisory, error)
}

// A Record is an OSV record, as the schema names its fields.
type Record struct {
	SchemaVersion    string         `json:"schema_version"`
	ID               string         `json:"id"`
	Modified         string         `json:"modified"`
	Published        string         `json:"published"`
	Withdrawn        string         `json:"withdrawn,omitempty"`
	Summary          string         `json:"summary"`
	Details          string         `json:"details"`
	Affected         []Affected     `json:"affected"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

// Affected is one affected package of a Record.
type Affected struct {
	Package  Package  `json:"package"`
	Versions []string `json:"versions"`
}

// Package names an affected package.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl"`
}

// SchemaVersion is the OSV schema version records follow.
const SchemaVersion = "1.6.0"

// ecosystems maps Trove's ecosystems to OSV's names and purl types.
var ecosystems = map[trove.Ecosystem][2]string{
	trove.NPM:  {"npm", "npm"},
	trove.PyPI: {"PyPI", "pypi"},
	trove.Go:   {"Go", "golang"},
}

// Record returns the record of an advisory published by the registry at
// origin (its base URL).
func (a *Advisory) Record(origin string) Record {
	eco := ecosystems[a.Ecosystem]
	if eco[0] == "" {
		eco = [2]string{string(a.Ecosystem), string(a.Ecosystem)}
	}
	r := Record{
		SchemaVersion: SchemaVersion,
		ID:            a.ID(),
		Modified:      a.Modified.UTC().Format(time.RFC3339),
		Published:     a.Published.UTC().Format(time.RFC3339),
		Summary:       fmt.Sprintf("Malicious code in %s (%s)", a.Name, eco[0]),
		Details:       fmt.Sprintf("Version %s of %s was taken down by the administrators of %s as malicious: %s", a.Version, a.Name, origin, a.Summary),
		Affected: []Affected{{
			Package:  Package{Ecosystem: eco[0], Name: a.Name, Purl: purl(eco[1], a.Name)},
			Versions: []string{a.Version},
		}},
		DatabaseSpecific: map[string]any{"source": "trove", "origin": origin, "url": strings.TrimRight(origin, "/") + "/osv/" + a.ID() + ".json"},
	}
	if !a.Withdrawn.IsZero() {
		r.Withdrawn = a.Withdrawn.UTC().Format(time.RFC3339)
	}
	return r
}

// purl returns a package URL without version: pkg:npm/%40scope/name,
// pkg:pypi/name, pkg:golang/example.com/mod.
func purl(typ, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(url.PathEscape(p), "@", "%40")
	}
	return "pkg:" + typ + "/" + strings.Join(parts, "/")
}

// A Handler serves the feed.
type Handler struct {
	src    Source
	origin string
	ttl    time.Duration

	mu    sync.Mutex
	built time.Time
	feed  *feed
}

// A feed is the feed as served, built at most once per ttl.
type feed struct {
	etag    string
	index   []byte
	records map[string][]byte
	zip     []byte
}

// New returns a Handler serving src's advisories as published by the
// registry at origin.
func New(src Source, origin string) *Handler {
	return &Handler{src: src, origin: strings.TrimRight(origin, "/"), ttl: time.Minute}
}

// ServeHTTP serves the feed below the prefix the handler is mounted at.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the OSV feed is read only", http.StatusMethodNotAllowed)
		return
	}
	f, err := h.current(r.Context())
	if err != nil {
		slog.Error("building the OSV feed", "err", err)
		http.Error(w, "the OSV feed is unavailable; try again later", http.StatusInternalServerError)
		return
	}
	var body []byte
	ctype := "application/json"
	switch p := strings.TrimPrefix(r.URL.Path, "/"); {
	case p == "":
		body = f.index
	case p == "all.zip":
		body, ctype = f.zip, "application/zip"
	case strings.HasSuffix(p, ".json") && f.records[strings.TrimSuffix(p, ".json")] != nil:
		body = f.records[strings.TrimSuffix(p, ".json")]
	default:
		http.Error(w, "no such OSV record: the index at /osv/ lists them", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Content-Type", ctype)
	if match := r.Header.Get("If-None-Match"); match != "" && match == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// current returns the feed, rebuilt when older than the ttl.
func (h *Handler) current(ctx context.Context) (*feed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.feed != nil && time.Since(h.built) < h.ttl {
		return h.feed, nil
	}
	as, err := h.src.Advisories(ctx, MaxRecords)
	if err != nil {
		return nil, err
	}
	f, err := build(as, h.origin)
	if err != nil {
		return nil, err
	}
	h.feed, h.built = f, time.Now()
	return f, nil
}

// build encodes the feed.
func build(as []*Advisory, origin string) (*feed, error) {
	type entry struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
	}
	f := &feed{records: make(map[string][]byte, len(as))}
	index := struct {
		Records []entry `json:"records"`
	}{Records: []entry{}}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	sum := sha256.New()
	for _, a := range as {
		rec := a.Record(origin)
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		f.records[rec.ID] = b
		index.Records = append(index.Records, entry{ID: rec.ID, Modified: rec.Modified})
		zf, err := zw.CreateHeader(&zip.FileHeader{Name: rec.ID + ".json", Method: zip.Deflate, Modified: a.Modified.UTC()})
		if err != nil {
			return nil, err
		}
		if _, err := zf.Write(b); err != nil {
			return nil, err
		}
		sum.Write(b)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var err error
	if f.index, err = json.Marshal(index); err != nil {
		return nil, err
	}
	f.zip = zb.Bytes()
	f.etag = `"` + hex.EncodeToString(sum.Sum(nil))[:32] + `"`
	return f, nil
}
