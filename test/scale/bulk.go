package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/sumdb/tlog"
)

// The bulk writer writes, through meta's Tx API and many publishes to a
// transaction, the rows a real publish writes (registry.Publish: its
// quarantine and publish transactions, ending in the same state), and
// appends the same transparency log records with translog.Append in the
// same transactions. TestBulkMatchesPublish holds the two paths to the
// same rows, documents and log.

// bulkWriter writes planned packages in large transactions.
type bulkWriter struct {
	g     *generator
	batch []*plannedPackage
	n     int // versions in batch
}

// add queues a package, writing the queue once it holds enough versions.
func (b *bulkWriter) add(ctx context.Context, pp *plannedPackage) error {
	b.batch = append(b.batch, pp)
	b.n += len(pp.versions)
	if b.n >= b.g.o.Batch {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the queued packages in one transaction.
func (b *bulkWriter) flush(ctx context.Context) error {
	if len(b.batch) == 0 {
		return nil
	}
	err := b.g.db.Tx(ctx, func(tx *meta.Tx) error {
		lw := &logWriter{Tx: tx, size: -1, top: map[int64]tlog.Hash{}}
		for _, pp := range b.batch {
			if err := b.writePackage(ctx, tx, lw, pp); err != nil {
				return fmt.Errorf("writing %s: %w", pp.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.g.progress(b.n)
	b.batch, b.n = b.batch[:0], 0
	return nil
}

// writePackage writes a new package, its owner and every version.
func (b *bulkWriter) writePackage(ctx context.Context, tx *meta.Tx, lw *logWriter, pp *plannedPackage) error {
	rules := npm.Rules{}
	owner := b.g.users[pp.owner]
	size, err := lw.LogSize(ctx)
	if err != nil {
		return err
	}
	at := simTime(size)
	pkg := &trove.Package{Ecosystem: trove.NPM, Name: pp.name, DisplayName: string(pp.name), Skeleton: rules.Skeleton(pp.name),
		Namespace: rules.Namespace(pp.name).Key, CreatedAt: at}
	if err := tx.InsertPackage(ctx, pkg); err != nil {
		return err
	}
	if err := tx.AddOwner(ctx, pkg.ID, owner.ID, at); err != nil {
		return err
	}
	deps := b.g.plan.depsOf(pp)
	for i, v := range pp.versions {
		if err := b.writeVersion(ctx, tx, lw, pkg, pp, i, v, deps, i == 0); err != nil {
			return fmt.Errorf("version %s: %w", v.version, err)
		}
	}
	return nil
}

// writeVersion writes one publish: the release and its file (published),
// its dependencies and tag, its log records and its change.
func (b *bulkWriter) writeVersion(ctx context.Context, tx *meta.Tx, lw *logWriter, pkg *trove.Package, pp *plannedPackage, i int,
	v plannedVersion, deps map[string]string, first bool) error {
	owner := b.g.users[pp.owner]
	size, err := lw.LogSize(ctx)
	if err != nil {
		return err
	}
	at := simTime(size)
	t, err := b.g.tarballFor(ctx, pp, i, v.version, deps)
	if err != nil {
		return err
	}
	md, err := manifest(string(pp.name), v.version, deps, t, owner.Name)
	if err != nil {
		return err
	}
	key, err := npm.Rules{}.VersionKey(v.version)
	if err != nil {
		return err
	}
	rel := &trove.Release{PackageID: pkg.ID, Version: v.version, VersionKey: key, State: trove.Published, Metadata: md,
		PublisherID: owner.ID, TokenID: b.g.tokenIDs[pp.owner], CreatedAt: at, PublishedAt: at, AuthLevel: trove.AuthMFA} // the level of the generator's tokens
	if err := tx.InsertRelease(ctx, rel); err != nil {
		return err
	}
	var md2 []meta.Dependency
	for _, n := range sortedDeps(deps) {
		md2 = append(md2, meta.Dependency{Name: trove.Name(n), Constraint: deps[n]})
	}
	if err := tx.InsertDependencies(ctx, rel.ID, trove.NPM, md2); err != nil {
		return err
	}
	f := &trove.File{ReleaseID: rel.ID, PackageID: pkg.ID, Filename: filename(string(pp.name), v.version), Kind: "tarball", State: trove.Published,
		Size: t.digests.Size, SHA256: string(t.digests.SHA256), SHA512: t.digests.SHA512, SHA1: t.digests.SHA1,
		Blake2b256: t.digests.Blake2b256, MD5: t.digests.MD5, CreatedAt: at}
	if err := tx.InsertFile(ctx, f); err != nil {
		return err
	}
	if err := tx.SetDistTag(ctx, pkg.ID, v.tag, rel.ID); err != nil {
		return err
	}
	if first {
		ev := &translog.Event{Kind: "owner", Ecosystem: string(trove.NPM), Name: string(pkg.Name), Time: at,
			Owners: []translog.OwnerChange{{Add: true, User: owner.Name}}}
		if err := appendEvent(ctx, tx, lw, ev); err != nil {
			return err
		}
	}
	ev := &translog.Event{Kind: "publish", Ecosystem: string(trove.NPM), Name: string(pkg.Name), Version: v.version, Time: at,
		Files: []translog.FileDigest{{Name: f.Filename, SHA256: f.SHA256}}, Tags: []translog.TagChange{{Tag: v.tag, Version: v.version}}}
	if err := appendEvent(ctx, tx, lw, ev); err != nil {
		return err
	}
	_, err = tx.AddChange(ctx, pkg, "publish", at)
	return err
}

// appendEvent appends an event and indexes it, as the registry does.
func appendEvent(ctx context.Context, tx *meta.Tx, lw *logWriter, ev *translog.Event) error {
	text, err := ev.Format()
	if err != nil {
		return err
	}
	id, err := translog.Append(ctx, lw, text)
	if err != nil {
		return err
	}
	return tx.IndexLogRecord(ctx, trove.NPM, trove.Name(ev.Name), ev.Version, ev.Kind, id)
}

// filename is the tarball filename npm's adapter gives a version.
func filename(name, version string) string {
	return name[strings.LastIndexByte(name, '/')+1:] + "-" + version + ".tgz"
}

// simTime is the simulated time of a change whose first log record is
// record n.
func simTime(n int64) time.Time {
	return Epoch.Add(time.Duration(n) * recordStep)
}

// tarballFor returns the tarball of version i of a package: its own, as
// a real publish stores it, or with Options.SharedBlobs one of a few
// shared blobs (valid npm tarballs of another package, whose digests the
// rows then carry), so that a million versions do not need a million files.
func (g *generator) tarballFor(ctx context.Context, pp *plannedPackage, i int, version string, deps map[string]string) (*tarball, error) {
	if g.o.SharedBlobs > 0 && !pp.real {
		return g.shared[(pp.index+i)%len(g.shared)], nil
	}
	t, err := makeTarball(string(pp.name), version, deps, tarballSize(pp.index, i), versionRand(g.o.Seed, pp.index, i))
	if err != nil {
		return nil, err
	}
	if !pp.real { // a real publish stores its own blob
		if err := blob.Put(ctx, g.blobs, bytes.NewReader(t.data), t.digests.SHA256); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// tarballSize is the size of the index.js of version i of package p: 1 to 24 KiB.
func tarballSize(p, i int) int { return 1024 + (p*7919+i*104729)%(23*1024) }

// versionRand returns the random source of a version's tarball content.
func versionRand(seed uint64, p, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(p)<<24|uint64(i)))
}

// A logWriter is the translog.Writer of a bulk transaction: meta.Tx, with
// the log size and the hashes later appends read kept in memory. A
// record's appends read only the top stored hashes of earlier records
// (the left siblings on its path), each once; the rest come from the Tx.
type logWriter struct {
	*meta.Tx
	size int64 // -1 until read from the Tx
	top  map[int64]tlog.Hash
}

// LogSize returns the log's size, reading it (and, on PostgreSQL, taking
// the sequencer lock) on first use.
func (w *logWriter) LogSize(ctx context.Context) (int64, error) {
	if w.size < 0 {
		n, err := w.Tx.LogSize(ctx)
		if err != nil {
			return 0, err
		}
		w.size = n
	}
	return w.size, nil
}

// ReadLogHashes serves the hashes from memory when it has them all.
func (w *logWriter) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := w.top[x]
		if !ok {
			return w.Tx.ReadLogHashes(ctx, indexes)
		}
		out[i] = h
	}
	for _, x := range indexes {
		delete(w.top, x) // a sibling is read once
	}
	return out, nil
}

// WriteLogRecord writes through and keeps the record's top hash.
func (w *logWriter) WriteLogRecord(ctx context.Context, id int64, text []byte, firstHash int64, hashes []tlog.Hash) error {
	if err := w.Tx.WriteLogRecord(ctx, id, text, firstHash, hashes); err != nil {
		return err
	}
	w.size = id + 1
	w.top[firstHash+int64(len(hashes))-1] = hashes[len(hashes)-1]
	return nil
}
