package goproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/trove"
)

// RelayLatestTTL is how long a relayed signed tree of an upstream
// checksum database is served before it is asked for again.
const RelayLatestTTL = 30 * time.Second

// A relayAnswer is what the relay serves for one sumdb-proxy request.
type relayAnswer struct {
	body      []byte
	immutable bool // a tile: cache it forever
}

// relay answers the go command's sumdb-proxy request op ("latest",
// "lookup/<module>@<version>", "tile/…") for the upstream database, so
// that GOSUMDB may name it while GOPROXY names only Trove. It passes the
// database's bytes through unchanged (the go command verifies them with
// the database's key; Trove cannot re-sign them), after checking that
// signed trees verify with the key and that paths are well formed.
// Lookups and tiles are kept (they never change); the signed tree is
// asked for again after RelayLatestTTL, and the last one served while the
// database cannot be reached.
func (d *upstreamDB) relay(ctx context.Context, op string) (*relayAnswer, error) {
	switch {
	case op == "latest":
		b, err := d.relayLatest(ctx)
		return &relayAnswer{body: b}, err
	case strings.HasPrefix(op, "lookup/"):
		if err := checkLookupPath(strings.TrimPrefix(op, "lookup/")); err != nil {
			return nil, err
		}
		b, err := d.relayCached(ctx, op, d.checkLookup)
		return &relayAnswer{body: b}, err
	case strings.HasPrefix(op, "tile/"):
		if _, err := tlog.ParseTilePath(op); err != nil {
			return nil, trove.Error(trove.ErrNotFound, "no such tile %q in the checksum database %s: %v", op, d.name, err)
		}
		b, err := d.relayCached(ctx, op, nil)
		return &relayAnswer{body: b, immutable: true}, err
	}
	return nil, trove.Error(trove.ErrNotFound, "the checksum database %s serves supported, latest, lookup/<module>@<version> and tile/…", d.name)
}

// checkLookupPath checks an escaped <module>@<version>.
func checkLookupPath(esc string) error {
	i := strings.LastIndex(esc, "@")
	if i < 0 {
		return trove.Error(trove.ErrInvalid, "lookup %q: want <module>@<version>", esc)
	}
	path, err := module.UnescapePath(esc[:i])
	if err == nil {
		var vers string
		if vers, err = module.UnescapeVersion(esc[i+1:]); err == nil {
			err = module.Check(path, vers)
		}
	}
	if err != nil {
		return trove.Error(trove.ErrInvalid, "lookup %q: %v", esc, err)
	}
	return nil
}

// relayCached serves op from the relay's cache, else from the database,
// keeping what check accepts.
func (d *upstreamDB) relayCached(ctx context.Context, op string, check func([]byte) error) ([]byte, error) {
	key := "relay/" + d.name + "/" + op
	if b, err := d.state.SumState(ctx, key); err == nil && b != nil {
		return b, nil
	}
	if err := d.allowed(ctx); err != nil {
		return nil, err
	}
	b, err := d.get(ctx, "/"+op)
	if err != nil {
		return nil, d.relayError(op, err)
	}
	if check != nil {
		if err := check(b); err != nil {
			return nil, trove.Error(trove.ErrUpstream, "the checksum database %s answered %s with something that does not verify: %v", d.name, op, err)
		}
	}
	if err := d.state.PutSumState(ctx, key, b); err != nil {
		return nil, err
	}
	return b, nil
}

// relayError is the error for a failed request to the database.
func (d *upstreamDB) relayError(op string, err error) error {
	if errors.Is(err, errNoRecord) {
		return trove.Error(trove.ErrNotFound, "the checksum database %s has no %s", d.name, op)
	}
	return trove.Error(trove.ErrUpstream, "the checksum database %s of upstream %s cannot be reached: %v", d.name, d.source, err)
}

// checkLookup checks that a lookup answer is a record followed by a tree
// signed with the database's key.
func (d *upstreamDB) checkLookup(b []byte) error {
	_, _, tree, err := tlog.ParseRecord(b)
	if err != nil {
		return err
	}
	return d.checkTree(tree)
}

// checkTree checks a signed tree note.
func (d *upstreamDB) checkTree(b []byte) error {
	v, err := note.NewVerifier(d.key)
	if err != nil {
		return err
	}
	n, err := note.Open(b, note.VerifierList(v))
	if err != nil {
		return err
	}
	_, err = tlog.ParseTree([]byte(n.Text))
	return err
}

// relayLatest returns the database's signed tree, at most RelayLatestTTL
// old, or the last one kept when the database cannot be reached.
func (d *upstreamDB) relayLatest(ctx context.Context) ([]byte, error) {
	d.latestMu.Lock()
	defer d.latestMu.Unlock()
	if d.latest != nil && time.Since(d.latestAt) < RelayLatestTTL {
		return d.latest, nil
	}
	key := "relay/" + d.name + "/latest"
	if err := d.allowed(ctx); err != nil {
		return nil, err
	}
	b, err := d.get(ctx, "/latest")
	if err == nil {
		if err = d.checkTree(b); err != nil {
			err = fmt.Errorf("its signed tree does not verify: %v", err)
		}
	}
	if err != nil {
		if kept, kerr := d.state.SumState(ctx, key); kerr == nil && kept != nil {
			return kept, nil
		}
		return nil, d.relayError("latest", err)
	}
	if err := d.state.PutSumState(ctx, key, b); err != nil {
		return nil, err
	}
	d.latest, d.latestAt = b, time.Now()
	return b, nil
}

// allowed applies the per-client limit on upstream requests.
func (d *upstreamDB) allowed(ctx context.Context) error {
	if d.allow == nil {
		return nil
	}
	return d.allow(ctx)
}
