package goproxy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// A checksumDB is the Go checksum database over Trove's transparency log:
// a sumdb.ServerOps. It serves only what the latest signed tree covers,
// so every answer is provable against the tree the client is given.
type checksumDB struct {
	log   *translog.Log
	store translog.Store
	reg   *registry.Service
}

// notExist is the error sumdb.Server reports as 404: it tests with
// os.IsNotExist, which sees through *fs.PathError only.
func notExist(op, what string) error {
	return &fs.PathError{Op: op, Path: what, Err: fs.ErrNotExist}
}

// Signed returns the latest signed tree, in the go.sum database format.
func (d *checksumDB) Signed(ctx context.Context) ([]byte, error) {
	return d.log.Latest().GoSumTree, nil
}

// lookupKey marks the context of a lookup request: the only request
// whose records are served in full (see ReadRecords).
type lookupKey struct{}

// ReadRecords returns records id through id+n-1, all in the signed tree.
// sumdb.Server reads records for two requests: a lookup (one record,
// whose module Lookup has checked the request may read) and a data tile
// (public and immutable, whoever asks). Only a lookup's context
// (lookupKey, set by serveSumdb) gets private records in full; a data
// tile gets them redacted (translog.Redact).
func (d *checksumDB) ReadRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	size := d.log.Latest().Tree.N
	if id >= 0 && n >= 0 && id+n > size {
		size = d.log.CatchUp(ctx, id+n).Tree.N
	}
	if id < 0 || n < 0 || id > size || n > size-id {
		return nil, notExist("reading records", fmt.Sprintf("%d+%d beyond the signed tree of %d records", id, n, size))
	}
	recs, err := d.store.ReadLogRecords(ctx, id, n)
	if err != nil || ctx.Value(lookupKey{}) != nil {
		return recs, err
	}
	return translog.RedactAll(recs), nil
}

// Lookup returns the id of the record holding a module version's go.sum
// lines: its publish record, or the proxy record of a version imported
// from an upstream (serveSumdb imports one that is not here yet first).
// A private module's version is found only for a request that may read
// it (registry.LogEntries); for anyone else it was never published.
func (d *checksumDB) Lookup(ctx context.Context, m module.Version) (int64, error) {
	entries, err := d.reg.LogEntries(ctx, trove.Go, m.Path, m.Version)
	if err == nil && len(entries) == 0 {
		err = trove.ErrNotFound
	}
	if errors.Is(err, trove.ErrNotFound) || errors.Is(err, trove.ErrInvalid) {
		return 0, notExist("lookup", m.String()+" was never published here")
	}
	if err != nil {
		return 0, err
	}
	size := d.log.Latest().Tree.N
	for _, e := range entries {
		if !sumKinds[e.Kind] {
			continue
		}
		if e.ID >= size {
			size = d.log.CatchUp(ctx, e.ID+1).Tree.N
		}
		if e.ID < size {
			return e.ID, nil
		}
	}
	return 0, notExist("lookup", m.String()+" is not in the signed tree yet")
}

// sumKinds are the kinds of log records that carry go.sum lines.
var sumKinds = map[string]bool{"publish": true, "proxy": true}

// ReadTileData returns a hash tile inside the signed tree.
func (d *checksumDB) ReadTileData(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if !translog.Covered(t, d.log.CatchUp(ctx, translog.TileEnd(t)).Tree.N) {
		return nil, notExist("reading tile", t.Path()+" beyond the signed tree")
	}
	return translog.ReadTile(ctx, d.store, t)
}

// serveSumdb serves the checksum database below /sumdb/<name>/, where
// name is the log's origin, and answers /sumdb/<name>/supported so that
// the go command, given only the key in GOSUMDB, reaches the database
// through GOPROXY. Other databases are 404: this proxy cannot relay them.
func (h *Handler) serveSumdb(w http.ResponseWriter, r *http.Request, req request) error {
	if h.sumdb == nil {
		return trove.Error(trove.ErrNotFound, "this server has no checksum database")
	}
	name := h.o.Log.Origin()
	op, ok := strings.CutPrefix(req.sumdb, name+"/")
	if !ok {
		if db, op := h.upstreamDB(req.sumdb); db != nil {
			return h.relaySumdb(w, r, db, op)
		}
		return trove.Error(trove.ErrNotFound, "this proxy serves only the checksum database %s and those of its upstreams, not %s; set GOSUMDB to its key (trove log gosumdb)",
			name, req.sumdb)
	}
	switch {
	case op == "supported":
		w.Header().Set("Content-Type", textContentType)
		w.WriteHeader(http.StatusOK)
		return nil
	case strings.HasPrefix(op, "lookup/"):
		// The database answers for every module the proxy serves: an
		// upstream module's version that is not here yet is imported
		// (verified) first, and a failure is reported as such.
		if err := h.fillLookup(r.Context(), strings.TrimPrefix(op, "lookup/")); err != nil {
			return err
		}
		// An authenticated lookup may hold a private module's record:
		// no shared cache keeps it.
		if access.PrincipalFrom(r.Context()) != nil {
			w.Header().Set("Cache-Control", "private, no-cache")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
	case op == "latest":
		w.Header().Set("Cache-Control", "no-cache")
	case strings.HasPrefix(op, "tile/"):
		// Tiles never change; the sumdb server only writes 200 for them.
		w = &okHeader{ResponseWriter: w, key: "Cache-Control", value: adapter.Immutable}
	default:
		return trove.Error(trove.ErrNotFound, "the checksum database serves supported, latest, lookup/<module>@<version> and tile/…")
	}
	ctx := r.Context()
	if strings.HasPrefix(op, "lookup/") {
		ctx = context.WithValue(ctx, lookupKey{}, true)
	}
	sub := r.Clone(ctx)
	sub.URL.Path, sub.URL.RawPath = "/"+op, ""
	h.sumdb.ServeHTTP(w, sub)
	return nil
}

// fillLookup imports the version a lookup names if it is an upstream
// module's that is not here yet. A malformed lookup is left to the
// database, which answers 400.
func (h *Handler) fillLookup(ctx context.Context, esc string) error {
	i := strings.LastIndex(esc, "@")
	if i < 0 {
		return nil
	}
	mod, err := module.UnescapePath(esc[:i])
	if err != nil {
		return nil
	}
	v, err := module.UnescapeVersion(esc[i+1:])
	if err != nil || CheckVersion(mod, v) != nil {
		return nil
	}
	_, err = h.fill(ctx, mod, v)
	return err
}

// upstreamDB returns the upstream checksum database a sumdb path
// (<name>/<op>) is below, and the op.
func (h *Handler) upstreamDB(p string) (*upstreamDB, string) {
	for _, db := range h.sumDBs {
		if op, ok := strings.CutPrefix(p, db.name+"/"); ok {
			return db, op
		}
	}
	return nil, ""
}

// relaySumdb serves a sumdb-proxy request for an upstream database.
func (h *Handler) relaySumdb(w http.ResponseWriter, r *http.Request, db *upstreamDB, op string) error {
	if op == "supported" {
		w.Header().Set("Content-Type", textContentType)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	ans, err := db.relay(r.Context(), op)
	if err != nil {
		return err
	}
	if ans.immutable {
		w.Header().Set("Cache-Control", adapter.Immutable)
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	}
	_, err = w.Write(ans.body)
	return err
}

// okHeader sets a header on a successful response only.
type okHeader struct {
	http.ResponseWriter
	key, value string
	wrote      bool
}

func (o *okHeader) WriteHeader(code int) {
	if !o.wrote && code == http.StatusOK {
		o.Header().Set(o.key, o.value)
	}
	o.wrote = true
	o.ResponseWriter.WriteHeader(code)
}

func (o *okHeader) Write(p []byte) (int, error) {
	if !o.wrote {
		o.WriteHeader(http.StatusOK)
	}
	return o.ResponseWriter.Write(p)
}
