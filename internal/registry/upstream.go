package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Upstreams tells the core whether upstream registries have a name
// (internal/upstream, through each adapter's metadata document). It is
// asked before a new local package is created: a name an upstream has is
// not published here unless an administrator allows it.
type Upstreams interface {
	// Exists reports whether an upstream of the ecosystem has the name;
	// false when the ecosystem has no upstream. It fails rather than guess
	// when no upstream answers.
	Exists(ctx context.Context, eco trove.Ecosystem, name trove.Name) (bool, error)
}

// SetUpstreams sets the check of new local names against upstreams. It is
// set once, before the service is used (the upstream clients are built
// on the service).
func (s *Service) SetUpstreams(u Upstreams) { s.upstreams = u }

// An Import is an artifact, or several, fetched from an upstream registry
// and verified by the adapter against the upstream's metadata (npm's
// dist.integrity, PyPI's index sha256, Go's checksum database).
type Import struct {
	Upload
	// Source is the configured name of the upstream the files came from.
	Source string
	// URL is where the first file was fetched from.
	URL string
}

// upstreamReader is what the decision of Local reads; meta's DB and Tx
// have it.
type upstreamReader interface {
	nsReader
	Package(ctx context.Context, eco trove.Ecosystem, name trove.Name) (*trove.Package, error)
	UpstreamException(ctx context.Context, eco trove.Ecosystem, name trove.Name) (*meta.UpstreamException, error)
}

// Local reports whether a name must be served from local releases only,
// never from upstreams: a name is local or upstream, never both (the
// defence against dependency confusion). A name is local when
//
//   - a local package has it (in any state, deleted ones too), or an
//     administrator's exception says so (trove upstream allow --as local);
//   - or it has no package and its namespace is claimed here: a
//     reservation matches it, an npm scope holds a local package or is a
//     user's, a Go module path is at, below or above a local module —
//     unless an administrator's exception serves it from upstreams.
//
// A name that only imported releases have (an upstream package) is not
// local.
//
// Answers are cached (adapters ask on every request for an upstream name)
// until any package changes, and for at most LocalTTL: a user created
// since claims the npm scope of their name within it.
func (s *Service) Local(ctx context.Context, eco trove.Ecosystem, name string) (bool, error) {
	rules, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return false, err
	}
	k := fileKey{eco: eco, name: n}
	at := s.now()
	s.mu.RLock()
	e, ok := s.locals[k]
	gen := s.gen
	s.mu.RUnlock()
	if ok && at.Sub(e.at) < LocalTTL {
		return e.local, nil
	}
	local, err := s.local(ctx, s.db, rules, n)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	if s.gen == gen { // no change raced with the decision
		if s.locals == nil || len(s.locals) > 200_000 {
			s.locals = make(map[fileKey]localEntry)
		}
		s.locals[k] = localEntry{local: local, at: at}
	}
	s.mu.Unlock()
	return local, nil
}

// LocalTTL bounds how long Local's answer is reused when nothing changed.
const LocalTTL = 30 * time.Second

// A localEntry is a cached answer of Local.
type localEntry struct {
	local bool
	at    time.Time
}

func (s *Service) local(ctx context.Context, q upstreamReader, rules Rules, n trove.Name) (bool, error) {
	eco := rules.Ecosystem()
	pkg, err := q.Package(ctx, eco, n)
	switch {
	case err == nil:
		return !pkg.Upstream, nil
	case !errors.Is(err, meta.ErrNotFound):
		return false, err
	}
	exc, err := q.UpstreamException(ctx, eco, n)
	switch {
	case err == nil:
		return exc.Kind == meta.ExceptLocal, nil
	case !errors.Is(err, meta.ErrNotFound):
		return false, err
	}
	// A reservation with owners is a local claim (an organisation's
	// namespace); one for administrators only (the default list: public
	// code hosts' Go paths) keeps the names from local squatters, and
	// those names are exactly the ones upstreams serve.
	key := trove.Name(rules.Fold(string(n)))
	for _, r := range s.reserved {
		if (len(r.Owners) > 0 || r.Org != "") && r.Pattern.Match(eco, key) {
			return true, nil
		}
	}
	return localNamespace(ctx, q, eco, namespaceOf(rules, n))
}

// localNamespace reports whether a namespace is claimed here: by a user
// or an organisation of its name, or by a local package in it (for trees: at, above or below
// it).
func localNamespace(ctx context.Context, q nsReader, eco trove.Ecosystem, ns Namespace) (bool, error) {
	if ns.Key == "" {
		return false, nil
	}
	if ns.User != "" {
		if _, err := q.UserByName(ctx, ns.User); err == nil {
			return true, nil
		} else if !errors.Is(err, meta.ErrNotFound) {
			return false, err
		}
		// A scope named after an organisation is a local claim too.
		if _, err := q.OrgByName(ctx, strings.ToLower(ns.User)); err == nil {
			return true, nil
		} else if !errors.Is(err, meta.ErrNotFound) {
			return false, err
		}
	}
	keys := []string{ns.Key}
	for k := ns.Key; ns.Tree && strings.Contains(k, "/"); {
		k = k[:strings.LastIndexByte(k, '/')]
		keys = append(keys, k)
	}
	pkgs, err := q.PackagesInNamespaces(ctx, eco, keys)
	if err != nil {
		return false, err
	}
	if ns.Tree {
		below, err := q.PackagesBelowNamespace(ctx, eco, ns.Key)
		if err != nil {
			return false, err
		}
		pkgs = append(pkgs, below...)
	}
	for _, p := range pkgs {
		if !p.Upstream {
			return true, nil
		}
	}
	return false, nil
}

// checkUpstreamName refuses to create a local package with a name an
// upstream has, or one whose releases were imported from upstreams, unless
// an administrator made the name local (trove upstream allow).
func (s *Service) checkUpstreamName(ctx context.Context, eco trove.Ecosystem, name trove.Name, pkg *trove.Package) error {
	if pkg != nil {
		if pkg.Upstream {
			return trove.Error(trove.ErrExists, "%s is a package of an upstream registry, served here from it: it cannot be published here (a name is local or upstream, never both)", pkg.DisplayName)
		}
		return nil
	}
	if s.upstreams == nil {
		return nil
	}
	exc, err := s.db.UpstreamException(ctx, eco, name)
	switch {
	case err == nil && exc.Kind == meta.ExceptLocal:
		return nil
	case err != nil && !errors.Is(err, meta.ErrNotFound):
		return err
	}
	exists, err := s.upstreams.Exists(ctx, eco, name)
	if err != nil {
		return fmt.Errorf("checking whether an upstream registry has %s, which must be known before it is created here: %w", name, err)
	}
	if exists {
		return trove.Error(trove.ErrExists, "%s exists in an upstream registry: publishing it here would shadow it (dependency confusion); an administrator can allow a deliberate fork with `trove upstream allow %s %s --as local`",
			name, eco, name)
	}
	return nil
}

// Import records files fetched from an upstream and verified by the
// adapter: the package (marked upstream, with no owners), the release
// (with its source) and the files, through the same scan pipeline as an
// upload, then visible at once with a proxy record in the transparency
// log. A name that is local is refused (ErrExists): upstream versions of
// it are never served. Importing files already imported with the same
// bytes returns them unchanged, so that concurrent importers agree.
func (s *Service) Import(ctx context.Context, imp *Import) (*Result, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	u := &imp.Upload
	rules, name, key, err := s.parse(u.Ecosystem, u.Name, u.Version)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Version == "" || len(u.Files) == 0:
		return nil, trove.Error(trove.ErrInvalid, "an import needs a version and at least one file")
	case imp.Source == "" || imp.URL == "":
		return nil, trove.Error(trove.ErrInvalid, "an import needs its source and URL")
	case len(u.Metadata) == 0:
		u.Metadata = []byte(`{}`)
	}
	// Files of a release arrive as they are asked for (PyPI's wheels).
	u.AddFiles = true
	if res, err := s.checkImport(ctx, rules, name, key, u); err != nil || res != nil {
		return res, err
	}
	if err := s.storeBlobs(ctx, u); err != nil {
		return nil, err
	}
	res, err := s.quarantineImport(ctx, rules, name, key, imp)
	if err != nil {
		return nil, err
	}
	bg := context.WithoutCancel(ctx)
	if _, err := s.scanQuarantined(ctx, bg, nil, res, u, name, true); err != nil {
		return nil, err
	}
	if err := s.publishImport(bg, res, imp); err != nil {
		return nil, err
	}
	s.changed(u.Ecosystem, name)
	if err := s.sign(bg); err != nil {
		return nil, err
	}
	return res, nil
}

// checkImport refuses an import of a local name, and returns the existing
// state when every file was imported already.
func (s *Service) checkImport(ctx context.Context, rules Rules, name trove.Name, key string, u *Upload) (*Result, error) {
	local, err := s.local(ctx, s.db, rules, name)
	if err != nil {
		return nil, err
	}
	if local {
		return nil, errLocalName(u.Ecosystem, name)
	}
	pkg, err := s.db.Package(ctx, u.Ecosystem, name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return s.checkNew(ctx, pkg, key, u)
}

func errLocalName(eco trove.Ecosystem, name trove.Name) error {
	return trove.Error(trove.ErrExists, "%s:%s is local to this registry: its upstream versions are never served (a name is local or upstream, never both)", eco, name)
}

// quarantineImport records an import, invisible, in one transaction, after
// checking again under the package's lock (or the name locks of a new
// package) that the name is not local.
func (s *Service) quarantineImport(ctx context.Context, rules Rules, name trove.Name, key string, imp *Import) (*Result, error) {
	u := &imp.Upload
	res := &Result{}
	at := now(s)
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		if res.Package, err = s.importPackage(ctx, tx, rules, name, u, at); err != nil {
			return err
		}
		rel, err := tx.Release(ctx, res.Package.ID, key)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			rel = &trove.Release{PackageID: res.Package.ID, Version: u.Version, VersionKey: key, State: trove.Quarantined,
				Metadata: u.Metadata, CreatedAt: at, Source: imp.Source}
			if err := tx.InsertRelease(ctx, rel); err != nil {
				return err
			}
			err = tx.InsertDependencies(ctx, rel.ID, u.Ecosystem, dependencies(rules, u.Dependencies))
		case err == nil:
			err = versionTaken(res.Package, rel, u)
		}
		if err != nil {
			return err
		}
		res.Release = rel
		res.Files, err = insertFiles(ctx, tx, res.Package, rel, u.Files, at)
		return err
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, trove.Error(trove.ErrInProgress, "%s %s is being imported by a concurrent request; try again", u.Name, u.Version)
	}
	return res, err
}

// importPackage returns the import's package within tx, locked, creating
// it as an upstream package if it does not exist and the name is not local.
func (s *Service) importPackage(ctx context.Context, tx *meta.Tx, rules Rules, name trove.Name, u *Upload, at time.Time) (*trove.Package, error) {
	if err := lockNames(ctx, tx, rules, name); err != nil {
		return nil, err
	}
	local, err := s.local(ctx, tx, rules, name)
	if err != nil {
		return nil, err
	}
	if local {
		return nil, errLocalName(u.Ecosystem, name)
	}
	pkg, err := tx.PackageForUpdate(ctx, u.Ecosystem, name)
	if !errors.Is(err, meta.ErrNotFound) {
		return pkg, err
	}
	pkg = &trove.Package{Ecosystem: u.Ecosystem, Name: name, DisplayName: u.Name,
		Skeleton: rules.Skeleton(name), Namespace: namespaceOf(rules, name).Key, CreatedAt: at, Upstream: true}
	return pkg, tx.InsertPackage(ctx, pkg)
}

// publishImport makes an imported release or its new files visible and
// appends its proxy record, in one transaction.
func (s *Service) publishImport(ctx context.Context, res *Result, imp *Import) error {
	at := now(s)
	ev := &translog.Event{Kind: "proxy", Ecosystem: string(res.Package.Ecosystem), Name: string(res.Package.Name), Version: res.Release.Version,
		Time: at, Upstream: &translog.Upstream{Name: imp.Source, URL: imp.URL}, Lines: imp.Lines}
	for _, f := range res.Files {
		ev.Files = append(ev.Files, translog.FileDigest{Name: f.Filename, SHA256: f.SHA256})
	}
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		if err := makeVisible(ctx, tx, res, at); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		_, err := tx.AddChange(ctx, res.Package, "proxy", at)
		return err
	})
}

// Except records an administrator's exception for a name (kind
// meta.ExceptLocal: a deliberate fork of an upstream name may be
// published here; meta.ExceptUpstream: the name is served from upstreams
// although its namespace is local), or removes it (kind ""), with an
// "except" record in the transparency log: its message is the kind ("" when
// removed), its reason the administrator's. A name that already has
// packages of the other kind is refused.
func (s *Service) Except(ctx context.Context, by string, eco trove.Ecosystem, name, kind, reason string) error {
	if err := s.writable(); err != nil {
		return err
	}
	_, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return err
	}
	at := now(s)
	ev := &translog.Event{Kind: "except", Ecosystem: string(eco), Name: string(n), Time: at, Message: &kind, Reason: &reason}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		pkg, err := tx.PackageForUpdate(ctx, eco, n)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			pkg = nil
		case err != nil:
			return err
		case kind == meta.ExceptUpstream && !pkg.Upstream:
			return trove.Error(trove.ErrExists, "%s:%s is a local package: it cannot be served from upstreams", eco, n)
		case kind == meta.ExceptLocal && pkg.Upstream:
			return trove.Error(trove.ErrExists, "%s:%s has releases imported from upstreams: it cannot become local", eco, n)
		}
		if kind == "" {
			err = tx.DeleteUpstreamException(ctx, eco, n)
		} else {
			err = tx.PutUpstreamException(ctx, &meta.UpstreamException{Ecosystem: eco, Name: n, Kind: kind, Reason: reason, CreatedBy: by, CreatedAt: at})
		}
		if err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		// Every replica's caches hear of it, package or not (a name its
		// proxy remembered as upstream becomes local).
		if pkg != nil {
			_, err = tx.AddChange(ctx, pkg, "except", at)
		} else {
			_, err = tx.AddFeedEntry(ctx, eco, string(n), "except", at)
		}
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%s:%s has no exception", eco, n)
	}
	if err != nil {
		return err
	}
	s.changed(eco, n)
	return s.sign(context.WithoutCancel(ctx))
}

// Exceptions returns every exception administrators made.
func (s *Service) Exceptions(ctx context.Context) ([]*meta.UpstreamException, error) {
	return s.db.UpstreamExceptions(ctx)
}
