package translog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of every tile (C2SP tlog-tiles and the Go
// checksum database both use 8: 256 hashes or entries a tile).
const TileHeight = 8

// ParseTilePath parses a C2SP tlog-tiles path relative to the log's
// prefix: "tile/<L>/<N>[.p/<W>]" for hash tiles and
// "tile/entries/<N>[.p/<W>]" for entry bundles (returned with L == -1).
// N is written in groups of three digits, all but the last prefixed "x".
func ParseTilePath(path string) (tlog.Tile, error) {
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q", path)
	}
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q", path)
	}
	if level == "entries" {
		level = "data"
	} else if l, err := strconv.Atoi(level); err != nil || l < 0 || l > 63 || strconv.Itoa(l) != level {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q: bad level", path)
	}
	t, err := tlog.ParseTilePath("tile/" + strconv.Itoa(TileHeight) + "/" + level + "/" + rest)
	if err != nil {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q", path)
	}
	return t, nil
}

// TilePath formats a tile's C2SP path, the inverse of ParseTilePath.
func TilePath(t tlog.Tile) string {
	p := t.Path() // tile/8/L/N or tile/8/data/N
	p = strings.TrimPrefix(p, "tile/"+strconv.Itoa(t.H)+"/")
	if strings.HasPrefix(p, "data/") {
		return "tile/entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

// A Server serves a log over HTTP at paths relative to its mount point:
//
//	checkpoint                      the latest signed C2SP checkpoint
//	tile/<L>/<N>[.p/<W>]            hash tiles
//	tile/entries/<N>[.p/<W>]        entry bundles
//	key                             the verifier key
//	lookup/<ecosystem>/<name>/<version>
//	                                the records about a package version, as
//	                                JSON {"checkpoint": <signed checkpoint>,
//	                                "records": [{"id": N, "text": …}]}; name
//	                                and version are path-escaped (an npm
//	                                scope's "/" is %2F). Only records in the
//	                                returned checkpoint's tree are listed.
//	proof/<N>                       the inclusion proof of record N in the
//	                                tree of the latest checkpoint, as a
//	                                C2SP tlog-proof (Proof.Format)
//
// Private records (IsPrivate) are served redacted in entry bundles, to
// everyone; their proofs, which carry their text, only to requests the
// gate allows (GateRecords). Lookups are as private as the LookupFunc
// makes them: it answers ErrNotFound to a request that may not read the
// package.
// Tiles never change once they exist, so they are served as immutable. A
// proof changes with every new checkpoint: it is served with an ETag
// naming the record and the tree size, so a client revalidates it cheaply.
// Clients verify everything they get against the checkpoint's signature.
type Server struct {
	log    *Log
	store  Store
	lookup LookupFunc
	gate   RecordGate
}

// A RecordGate reports whether the request of ctx may read private
// record id (IsPrivate): whether it may read the package the record is
// about. An error is a failure to find out, not a refusal.
type RecordGate func(ctx context.Context, id int64) (bool, error)

// GateRecords makes proofs of private records (proof/<N>, Prove) answer
// only the requests gate allows; without a gate they answer none. It is
// set before the server serves.
func (s *Server) GateRecords(gate RecordGate) { s.gate = gate }

// A PrivateError refuses the text of a private record to a request that
// may not read its package. It wraps ErrNotFound.
type PrivateError struct{ ID int64 }

func (e *PrivateError) Error() string {
	return fmt.Sprintf("record %d is private: its text is shown only to those who may read its package", e.ID)
}

func (e *PrivateError) Unwrap() error { return ErrNotFound }

// A LookupFunc returns the ids of the records about a package version.
// An unknown package version is an error satisfying IsNotFound.
type LookupFunc func(ctx context.Context, ecosystem, name, version string) ([]int64, error)

// NewServer returns a Server for the log, reading tiles from store and
// finding records with lookup (nil: no lookup endpoint).
func NewServer(l *Log, store Store, lookup LookupFunc) *Server {
	return &Server{log: l, store: store, lookup: lookup}
}

// A LookupResponse is the body of a lookup.
type LookupResponse struct {
	Checkpoint string         `json:"checkpoint"`
	Records    []LookupRecord `json:"records"`
}

// A LookupRecord is one record of a lookup.
type LookupRecord struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
}

// ErrNotFound is what a LookupFunc returns, or wraps, for an unknown package version.
var ErrNotFound = errors.New("not found")

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the transparency log is read-only", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch path {
	case "checkpoint":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(s.log.Latest().Checkpoint)
		return
	case "key":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, s.log.VerifierKey())
		return
	}
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "lookup/"); ok && s.lookup != nil {
		s.serveLookup(w, r, rest)
		return
	}
	if strings.HasPrefix(path, "proof/") {
		s.serveProof(w, r, path)
		return
	}
	t, err := ParseTilePath(path)
	if err != nil {
		http.Error(w, "not found: the log serves checkpoint, key, tile/<L>/<N>, tile/entries/<N>, proof/<N> and lookup/<ecosystem>/<name>/<version>", http.StatusNotFound)
		return
	}
	if !Covered(t, s.log.CatchUp(r.Context(), TileEnd(t)).Tree.N) {
		http.Error(w, "tile beyond the latest checkpoint", http.StatusNotFound)
		return
	}
	data, err := ReadTile(r.Context(), s.store, t)
	if err != nil {
		if behind := s.log.Writable(); behind != nil {
			// The database lacks records of the checkpoint served.
			http.Error(w, behind.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "reading tile failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
}

func (s *Server) serveLookup(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	var args [3]string
	ok := len(parts) == 3
	for i := 0; ok && i < 3; i++ {
		var err error
		args[i], err = url.PathUnescape(parts[i])
		ok = err == nil && args[i] != ""
	}
	if !ok {
		http.Error(w, "bad lookup: want lookup/<ecosystem>/<path-escaped name>/<path-escaped version>", http.StatusBadRequest)
		return
	}
	signed := s.log.Latest()
	ids, err := s.lookup(r.Context(), args[0], args[1], args[2])
	if len(ids) > 0 && err == nil {
		signed = s.log.CatchUp(r.Context(), slices.Max(ids)+1)
	}
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "lookup failed", http.StatusInternalServerError)
		return
	}
	resp := LookupResponse{Checkpoint: string(signed.Checkpoint), Records: []LookupRecord{}}
	private := false
	for _, id := range ids {
		if id >= signed.Tree.N {
			continue // appended just now, not yet signed by any replica
		}
		recs, err := s.store.ReadLogRecords(r.Context(), id, 1)
		if err != nil {
			http.Error(w, "reading record failed", http.StatusInternalServerError)
			return
		}
		resp.Records = append(resp.Records, LookupRecord{ID: id, Text: string(recs[0])})
		private = private || IsPrivate(recs[0])
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheControl(private))
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) serveProof(w http.ResponseWriter, r *http.Request, path string) {
	id, err := ParseProofPath(path)
	if err != nil {
		http.Error(w, "bad proof request: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if n := s.log.Latest().Tree.N; id < n && r.Header.Get("If-None-Match") == proofETag(id, n) {
		if private, ok := s.revalidate(r.Context(), id); ok {
			w.Header().Set("Cache-Control", cacheControl(private))
			w.Header().Set("ETag", proofETag(id, n))
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	p, err := s.Prove(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		if behind := s.log.Writable(); behind != nil {
			http.Error(w, behind.Error(), http.StatusServiceUnavailable)
			return
		}
		slog.Error("transparency log: serving a proof", "record", id, "err", err)
		http.Error(w, "proving the record failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", cacheControl(IsPrivate(p.Text)))
	w.Header().Set("ETag", proofETag(id, p.Tree.N))
	w.Write(p.Format())
}

// revalidate reports whether a proof of record id may be answered "not
// modified" (ok): the request may read the record (a private record's
// proof is refused as a whole); and whether the record is private.
func (s *Server) revalidate(ctx context.Context, id int64) (private, ok bool) {
	recs, err := s.store.ReadLogRecords(ctx, id, 1)
	if err != nil {
		return false, false
	}
	return IsPrivate(recs[0]), s.mayRead(ctx, id, recs[0]) == nil
}

// cacheControl is the Cache-Control of a lookup or proof: revalidated
// every time, and kept by no shared cache when it holds a private
// record's text (served only to those who may read it).
func cacheControl(private bool) string {
	if private {
		return "private, no-cache"
	}
	return "no-cache"
}

// proofETag names the proof of record id in the tree of n records: the
// only two things it depends on, since the log is append-only.
func proofETag(id, n int64) string { return fmt.Sprintf(`"proof-%d-%d"`, id, n) }

// Covered reports whether tile t lies within a tree of n records: its
// last hash is one the tree of size n has. Servers use it to serve only
// tiles the latest signed tree covers.
func Covered(t tlog.Tile, n int64) bool {
	end := TileEnd(t)
	return end > 0 && end <= n
}

// TileEnd returns the size of the smallest tree that covers tile t, or 0
// for a tile no tree has.
func TileEnd(t tlog.Tile) int64 {
	level := max(t.L, 0)
	if t.H <= 0 || t.H > 30 || t.N < 0 || t.W <= 0 || t.W > 1<<uint(t.H) || (level+1)*t.H >= 62 || t.N >= 1<<(62-uint((level+1)*t.H)) {
		return 0
	}
	return (t.N<<uint(t.H) + int64(t.W)) << uint(level*t.H)
}
