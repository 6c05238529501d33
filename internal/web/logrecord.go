package web

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// logRecordPrefix is where the web pages of log records are:
// /-/log/<N> shows record N and its inclusion proof.
const logRecordPrefix = "/-/log/"

// A Prover proves that a record is in the transparency log's latest
// signed tree (translog.Server). A record beyond that tree is an error
// wrapping translog.ErrNotFound.
type Prover interface {
	Prove(ctx context.Context, id int64) (*translog.Proof, error)
}

// logRecordView is what a record's page shows.
type logRecordView struct {
	ID          int64
	Text        string
	Event       *translog.Event // nil if the record does not parse (a later kind)
	PackageURL  string          // the release's page, when the record names one
	VerifySpec  string          // trove verify's argument for the release
	LeafHash    string          // base64, as proofs and tiles carry hashes
	LeafHex     string          // the same in hex
	Origin      string
	TreeSize    int64
	RootHash    string
	Hashes      []string // base64, from the leaf's sibling up to the root's child
	Checkpoint  string
	ProofURL    string
	RecordURL   string // the record's entry bundle: its bytes, served by the log
	BundleIndex int    // the record's position in that bundle
	// Private is set for a private package's record (shown only to its
	// readers): the entry bundle holds its placeholder, not its bytes.
	Private bool
	BaseURL string
}

// logRecordPage shows a record of the transparency log, the inclusion
// proof of it in the latest signed checkpoint, and how to check both
// offline. It is rendered per request: the proof changes with every
// checkpoint, and computing it reads a few dozen stored hashes.
func (h *Handler) logRecordPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	if h.o.Proofs == nil {
		h.notFound(w, r)
		return nil
	}
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 || strconv.FormatInt(id, 10) != s {
		return trove.Error(trove.ErrNotFound, "no log record %q: records are numbered 0, 1, 2…", clip(s))
	}
	p, err := h.o.Proofs.Prove(r.Context(), id)
	if errors.Is(err, translog.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%v", err)
	}
	if err != nil {
		return err
	}
	leaf := tlog.RecordHash(p.Text)
	origin, _, _ := strings.Cut(string(p.Checkpoint), "\n")
	v := logRecordView{
		ID: id, Text: string(p.Text),
		LeafHash: base64.StdEncoding.EncodeToString(leaf[:]), LeafHex: hex.EncodeToString(leaf[:]),
		Origin: origin, TreeSize: p.Tree.N, RootHash: base64.StdEncoding.EncodeToString(p.Tree.Hash[:]),
		Checkpoint:  string(p.Checkpoint),
		ProofURL:    "/log/proof/" + strconv.FormatInt(id, 10),
		RecordURL:   "/log/" + translog.TilePath(recordTile(id, p.Tree.N)),
		BundleIndex: int(id % (1 << translog.TileHeight)),
		Private:     translog.IsPrivate(p.Text),
		BaseURL:     h.o.BaseURL,
	}
	for _, x := range p.Hashes {
		v.Hashes = append(v.Hashes, base64.StdEncoding.EncodeToString(x[:]))
	}
	if ev, err := translog.ParseEvent(p.Text); err == nil {
		v.Event = ev
		if ev.Version != "" && !strings.Contains(ev.Name, "*") {
			v.PackageURL = packageURL(trove.Ecosystem(ev.Ecosystem), ev.Name, ev.Version)
			v.VerifySpec = verifySpec(ev)
		}
	}
	h.page(w, r, http.StatusOK, "logrecord", v)
	return nil
}

// recordTile returns the entry bundle holding record id in a tree of n
// records: a full one, or the partial one the tree ends in.
func recordTile(id, n int64) tlog.Tile {
	const per = 1 << translog.TileHeight
	t := tlog.Tile{H: translog.TileHeight, L: -1, N: id / per, W: per}
	if end := (t.N + 1) * per; end > n {
		t.W = int(n - t.N*per)
	}
	return t
}

// verifySpec is the argument of trove verify for the release a record
// is about.
func verifySpec(ev *translog.Event) string {
	switch ev.Ecosystem {
	case "npm", "go":
		return ev.Ecosystem + ":" + ev.Name + "@" + ev.Version
	case "pypi":
		return "pypi:" + ev.Name + "==" + ev.Version
	}
	return ""
}
