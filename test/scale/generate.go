package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/fsblob"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Options describe a data set and how to write it.
type Options struct {
	Packages    int // npm packages
	Versions    int // versions in all
	MaxVersions int // versions of the largest package
	Seed        uint64
	// RealEvery sends every RealEvery-th package through the real publish
	// path (an npm publish request to the npm adapter in process); the
	// rest go through the bulk writer. 0: none, 1: all.
	RealEvery int
	// SharedBlobs > 0 makes bulk-written versions point at that many
	// shared tarball blobs instead of a tarball of their own.
	SharedBlobs int
	// Batch is how many versions the bulk writer puts in a transaction.
	Batch int
	// TokensFile, if set, receives each maintainer's API token (for the
	// publish phase of load), readable by its owner only.
	TokensFile string
	// Progress receives a line every ProgressEvery versions (nil: none).
	Progress      io.Writer
	ProgressEvery int
}

// A Summary is what a generation wrote.
type Summary struct {
	Packages, Versions, RealPackages, RealVersions int
	Yanked, Deprecated, OwnersAdded                int
	LogSize                                        int64
	Elapsed                                        time.Duration
}

// A generator holds the stack a generation writes through.
type generator struct {
	o        Options
	plan     *plan
	db       *meta.DB
	blobs    blob.Store
	log      *translog.Log
	reg      *registry.Service
	tokens   *access.Tokens
	handler  http.Handler
	clock    atomic.Int64 // the registry's time, in Unix microseconds
	users    []*trove.User
	secrets  []string // an API token of each user
	tokenIDs []int64  // and its id, which the releases it publishes record
	shared   []*tarball
	baseURL  string

	start    time.Time
	done     int // versions written
	reported int
}

// generate fills the (empty) data directory of c with the data set of o.
func generate(ctx context.Context, c *config.Config, o Options) (*Summary, error) {
	p, err := newPlan(o)
	if err != nil {
		return nil, err
	}
	g := &generator{o: o, plan: p, start: time.Now(), baseURL: c.BaseURL}
	if err := g.open(ctx, c); err != nil {
		return nil, err
	}
	defer g.db.Close()
	if n, err := g.db.LogSize(ctx); err != nil || n > 0 {
		return nil, errors.Join(err, fmt.Errorf("the data directory %s already holds a log of %d records; generate into a new one", c.DataDir, n))
	}
	if err := g.setup(ctx); err != nil {
		return nil, err
	}
	sum, err := g.run(ctx)
	if err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(g.start)
	return sum, nil
}

// open wires the database, blob store, log and registry the way trove
// serve does, with the npm adapter served in process.
func (g *generator) open(ctx context.Context, c *config.Config) error {
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	g.db = db
	if g.blobs, err = fsblob.New(c.Storage.Dir); err != nil {
		db.Close()
		return err
	}
	signer, vkey, err := translog.LoadOrCreateKey(c.LogDir(), c.Transparency.Name)
	if err == nil {
		// As trove serve does: the newest checkpoint and a copy of every
		// record are kept in the blob store too (cmd/trove logOptions).
		g.log, err = translog.OpenWith(ctx, db, signer, vkey, translog.Options{StatePath: filepath.Join(c.LogDir(), "checkpoint"),
			State: registry.LogState(g.blobs)})
	}
	if err == nil {
		g.reg, err = registry.New(registry.Config{DB: db, Blobs: g.blobs, Rules: []registry.Rules{npm.Rules{}}, TempDir: c.TempDir(),
			Log: g.log, Now: func() time.Time { return time.UnixMicro(g.clock.Load()) }})
	}
	if err != nil {
		db.Close()
		return err
	}
	g.tokens = access.NewTokens(db, nil)
	users := account.NewUsers(db, nil)
	h := npm.New(npm.Options{Registry: g.reg, Tokens: g.tokens, Users: users, BaseURL: c.BaseURL + "/npm"})
	s := server.New(server.Options{Mounts: []server.Mount{{Prefix: "/npm", Ecosystem: "npm", Adapter: h}}, Tokens: g.tokens, DB: db, Blobs: g.blobs})
	s.SetReady(true)
	g.handler = s
	return nil
}

// setup creates the maintainers (real accounts, each with an API token)
// and the shared blobs.
func (g *generator) setup(ctx context.Context) error {
	users := account.NewUsers(g.db, nil)
	for _, name := range g.plan.users {
		// A random password no one knows: the maintainers publish with tokens.
		u, err := users.Create(ctx, account.NewUser{Name: name, Email: name + "@example.test", Password: access.NewToken(), Verified: true})
		if err != nil {
			return fmt.Errorf("creating user %s: %w", name, err)
		}
		secret, tok, err := g.tokens.Create(ctx, u.ID, access.Spec{Description: "scale generator", Packages: []access.Pattern{"*"}, Actions: access.Actions, AuthLevel: trove.AuthMFA})
		if err != nil {
			return fmt.Errorf("creating a token for %s: %w", name, err)
		}
		g.users = append(g.users, u)
		g.secrets = append(g.secrets, secret)
		g.tokenIDs = append(g.tokenIDs, tok.ID)
	}
	for i := range g.o.SharedBlobs {
		name := fmt.Sprintf("scale-shared-%d", i)
		t, err := makeTarball(name, "1.0.0", nil, 1024+i*(23*1024)/max(1, g.o.SharedBlobs-1), rand.New(rand.NewPCG(g.o.Seed, uint64(i))))
		if err != nil {
			return err
		}
		if err := blob.Put(ctx, g.blobs, bytes.NewReader(t.data), t.digests.SHA256); err != nil {
			return fmt.Errorf("storing shared blob %d: %w", i, err)
		}
		g.shared = append(g.shared, t)
	}
	if g.o.TokensFile != "" {
		return writeTokens(g.o.TokensFile, g.plan.users, g.secrets)
	}
	return nil
}

// run writes every package, then the later changes, then signs the log.
func (g *generator) run(ctx context.Context) (*Summary, error) {
	sum := &Summary{Packages: len(g.plan.packages), Versions: g.plan.versions}
	bw := &bulkWriter{g: g}
	for _, pp := range g.plan.packages {
		if !pp.real {
			if err := bw.add(ctx, pp); err != nil {
				return nil, err
			}
			continue
		}
		if err := bw.flush(ctx); err != nil {
			return nil, err
		}
		if err := g.publishReal(ctx, pp); err != nil {
			return nil, fmt.Errorf("publishing %s: %w", pp.name, err)
		}
		sum.RealPackages++
		sum.RealVersions += len(pp.versions)
	}
	if err := bw.flush(ctx); err != nil {
		return nil, err
	}
	if err := g.changes(ctx, sum); err != nil {
		return nil, err
	}
	signed, err := g.log.Sign(ctx)
	if err != nil {
		return nil, err
	}
	sum.LogSize = signed.Tree.N
	return sum, nil
}

// progress counts versions written and reports every ProgressEvery.
func (g *generator) progress(n int) {
	g.done += n
	if g.o.Progress == nil || g.done-g.reported < g.o.ProgressEvery && g.done < g.plan.versions {
		return
	}
	g.reported = g.done
	el := time.Since(g.start)
	fmt.Fprintf(g.o.Progress, "scale: %d/%d versions in %s (%.0f versions/s)\n", g.done, g.plan.versions,
		el.Round(time.Second), float64(g.done)/el.Seconds())
}

// changes makes the planned yanks, deprecations and owner additions
// through registry.Apply, as the npm and API endpoints do, as each
// package's owner.
func (g *generator) changes(ctx context.Context, sum *Summary) error {
	for _, pp := range g.plan.packages {
		var cs []registry.Change
		for _, i := range pp.yank {
			cs = append(cs, registry.Yank{Version: pp.versions[i].version, Reason: "generated yank"})
			sum.Yanked++
		}
		if pp.deprecate {
			for _, v := range pp.versions {
				cs = append(cs, registry.Deprecate{Version: v.version, Message: "generated: use another package"})
			}
			sum.Deprecated += len(pp.versions)
		}
		if pp.coOwner >= 0 {
			cs = append(cs, registry.AddOwner{User: g.users[pp.coOwner].Name})
			sum.OwnersAdded++
		}
		if len(cs) == 0 {
			continue
		}
		who, err := g.tokens.Authenticate(ctx, g.secrets[pp.owner])
		if err != nil {
			return err
		}
		if err := g.setClock(ctx); err != nil {
			return err
		}
		if err := g.reg.Apply(ctx, who, trove.NPM, string(pp.name), cs...); err != nil {
			return fmt.Errorf("changing %s: %w", pp.name, err)
		}
	}
	return nil
}

// setClock sets the registry's time to that of the next log record.
func (g *generator) setClock(ctx context.Context) error {
	n, err := g.db.LogSize(ctx)
	if err != nil {
		return err
	}
	g.clock.Store(simTime(n).UnixMicro())
	return nil
}
