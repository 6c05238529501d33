package npm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// Proxying upstream names
//
// A name that is not local (registry.Service.Local) is served from the
// npm upstreams when Options.Upstream has any: its packuments are the
// upstream's full document rewritten (see proxyView), its tarballs are
// fetched on first request, verified against that document, imported
// with registry.Service.Import and then served like local files.
//
// Per name the handler remembers, for the upstream's metadata TTL, whether
// the name is local and, if not, which versions the curation policy blocks
// and which upstream document the cached pages were rendered from: a
// cached proxied packument or tarball costs no SQL, like a local one. The
// document itself is kept parsed, within maxParsedBytes, so that it is
// parsed once per refresh rather than once per page variant. A
// change of the package (an import, a local publish, on any replica) makes
// the handler check again, and so does a change of any name of its scope.

// UpstreamHeader tells clients whether proxied metadata is fresh or, when
// every upstream failed, a stale copy.
const UpstreamHeader = "X-Trove-Upstream"

// Bounds of what the proxy remembers: names, and parsed upstream
// documents (by the size of their bodies). A document not kept is read
// from the database cache and parsed again when a page of it is rendered.
const (
	maxProxyNames  = 50000
	maxParsedBytes = 64 << 20
)

// A proxy is the upstream side of a Handler.
type proxy struct {
	up  *upstream.Client
	ttl time.Duration
	now func() time.Time

	mu          sync.Mutex
	names       map[trove.Name]*proxyState
	parsedBytes int64 // of the documents states hold
}

// A proxyState is what the proxy last learned of a name.
type proxyState struct {
	checked time.Time
	local   bool
	stale   bool
	fetched time.Time // FetchedAt of the document the pages are rendered from
	// blocked holds the versions the curation policy blocks, with its reason.
	blocked map[string]upstream.Decision
	// parsed is the document the state was learned from, kept so that
	// each page of it (and the tarballs' fetches) need not parse it again;
	// nil once dropped. Guarded by proxy.mu.
	parsed *parsedDoc
}

// A parsedDoc is an upstream document and its parse.
type parsedDoc struct {
	doc *upstream.Doc
	d   *upstreamDoc
}

func (pd *parsedDoc) size() int64 { return int64(len(pd.doc.Body)) }

func newProxy(o Options) *proxy {
	if o.Upstream == nil || !o.Upstream.Enabled() {
		return nil
	}
	p := &proxy{up: o.Upstream, ttl: o.Upstream.TTL(), now: time.Now, names: map[trove.Name]*proxyState{}}
	o.Registry.Watch(func(eco trove.Ecosystem, name trove.Name) {
		if eco == trove.NPM {
			p.forget(name)
		}
	})
	return p
}

// forget drops what the proxy knows of a name the registry's watchers
// heard a change of and, for a scoped one, of every name of its scope (a
// local package claims its scope); a curation pattern ("@acme/*", "*")
// drops every name it covers, whose decisions may have changed.
func (p *proxy) forget(changed trove.Name) {
	scope, _, scoped := strings.Cut(string(changed), "/")
	pattern := strings.Contains(string(changed), "*")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleteLocked(changed)
	if !scoped && !pattern {
		return
	}
	for n := range p.names {
		if scoped && strings.HasPrefix(string(n), scope+"/") || pattern && upstream.Covers(trove.NPM, changed, n) {
			p.deleteLocked(n)
		}
	}
}

func (p *proxy) deleteLocked(name trove.Name) {
	p.dropParsedLocked(p.names[name])
	delete(p.names, name)
}

func (p *proxy) dropParsedLocked(st *proxyState) {
	if st != nil && st.parsed != nil {
		p.parsedBytes -= st.parsed.size()
		st.parsed = nil
	}
}

// parsedOf returns the parsed document a state was learned from, or nil.
func (p *proxy) parsedOf(st *proxyState) *parsedDoc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return st.parsed
}

func (p *proxy) get(name trove.Name) *proxyState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.names[name]
	if st != nil && p.now().Sub(st.checked) >= p.ttl {
		return nil
	}
	return st
}

func (p *proxy) put(name trove.Name, st *proxyState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleteLocked(name)
	if len(p.names) >= maxProxyNames {
		for n := range p.names { // any one: the map is a cache
			p.deleteLocked(n)
			break
		}
	}
	if st.parsed != nil {
		size := st.parsed.size()
		for _, other := range p.names { // make room, any ones first
			if p.parsedBytes+size <= maxParsedBytes {
				break
			}
			p.dropParsedLocked(other)
		}
		if p.parsedBytes+size > maxParsedBytes {
			st.parsed = nil
		} else {
			p.parsedBytes += size
		}
	}
	p.names[name] = st
}

// upstreamState returns the proxy's state of a name that is served from
// upstreams, or nil for a local name (or without upstreams).
func (h *Handler) upstreamState(ctx context.Context, name trove.Name) (*proxyState, error) {
	p := h.proxy
	if p == nil {
		return nil, nil
	}
	if st := p.get(name); st != nil {
		if st.local {
			return nil, nil
		}
		return st, nil
	}
	local, err := h.o.Registry.Local(ctx, trove.NPM, string(name))
	if err != nil {
		return nil, err
	}
	if local {
		p.put(name, &proxyState{checked: p.now(), local: true})
		return nil, nil
	}
	return h.refresh(ctx, name)
}

// refresh reads the upstream document of a name (from the cache while it
// is fresh), decides which versions the policy blocks, and drops the
// cached pages when either changed since they were rendered.
func (h *Handler) refresh(ctx context.Context, name trove.Name) (*proxyState, error) {
	doc, d, err := h.upstreamDoc(ctx, name)
	if err != nil {
		return nil, err
	}
	blocked, err := h.blocked(ctx, d, d.sortedVersions()...)
	if err != nil {
		return nil, err
	}
	st := &proxyState{checked: h.proxy.now(), stale: doc.Stale, fetched: doc.FetchedAt, blocked: blocked,
		parsed: &parsedDoc{doc: doc, d: d}}
	h.proxy.mu.Lock()
	old := h.proxy.names[name]
	h.proxy.mu.Unlock()
	if old == nil || old.local || !old.fetched.Equal(st.fetched) || !maps.Equal(old.blocked, st.blocked) {
		h.o.Pages.Invalidate(string(trove.NPM), string(name))
	}
	h.proxy.put(name, st)
	return st, nil
}

// HasUpstream reports whether an npm upstream has the name; the wiring
// asks before a new local package is created (registry.Upstreams).
func (h *Handler) HasUpstream(ctx context.Context, name trove.Name) (bool, error) {
	return h.o.Upstream.Has(ctx, string(name), upstreamPath(name), fullDocHeader())
}

// escapeName returns a package name as npm puts it in packument URLs:
// the scope's slash as %2f.
func escapeName(n trove.Name) string {
	return strings.Replace(string(n), "/", "%2f", 1)
}

// upstreamPath is the path of a name's packument below a registry root.
func upstreamPath(name trove.Name) string { return "/" + escapeName(name) }

// fullDocHeader asks an upstream for the full packument, which alone has
// every version's publish time and scripts.
func fullDocHeader() http.Header { return http.Header{"Accept": {typeJSON}} }

// upstreamDoc returns the upstream's full document of a name, parsed.
func (h *Handler) upstreamDoc(ctx context.Context, name trove.Name) (*upstream.Doc, *upstreamDoc, error) {
	doc, err := h.proxy.up.Doc(ctx, string(name), upstreamPath(name), fullDocHeader())
	if err != nil {
		return nil, nil, err
	}
	d, err := parseUpstreamDoc(name, doc.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: upstream %s: %v", trove.ErrUpstream, doc.Source.Name, err)
	}
	return doc, d, nil
}

// blocked returns the versions of d the curation policy blocks.
func (h *Handler) blocked(ctx context.Context, d *upstreamDoc, versions ...string) (map[string]upstream.Decision, error) {
	vs := make([]upstream.Version, len(versions))
	for i, v := range versions {
		vs[i] = upstream.Version{Ecosystem: trove.NPM, Name: trove.Name(d.name), Version: v,
			Published: d.published(v), InstallScripts: d.versions[v].scripts}
	}
	ds, err := h.proxy.up.Decide(ctx, vs)
	if err != nil {
		return nil, fmt.Errorf("deciding which versions of %s to serve: %w", d.name, err)
	}
	out := map[string]upstream.Decision{}
	for i, dec := range ds {
		if !dec.Allowed {
			out[versions[i]] = dec
		}
	}
	return out, nil
}

// proxyPage returns a cached page of an upstream name, rendering it on a
// miss from the document st was learned from.
func (h *Handler) proxyPage(ctx context.Context, name trove.Name, variant string, st *proxyState) (*page.Page, error) {
	return h.o.Pages.Get(page.Key{Group: string(trove.NPM), Name: string(name), Variant: "upstream-" + variant}, func() (*page.Page, error) {
		ctx := context.WithoutCancel(ctx)
		_, d, err := h.parsedDoc(ctx, name, st)
		if err != nil {
			return nil, err
		}
		seen, err := h.firstSeen(ctx, name)
		if err != nil {
			return nil, err
		}
		blocked := make(map[string]string, len(st.blocked))
		for v, dec := range st.blocked {
			blocked[v] = dec.Rule
		}
		r, err := (&proxyView{baseURL: h.o.BaseURL, blocked: blocked, seen: seen}).render(d)
		if err != nil {
			return nil, fmt.Errorf("rendering upstream package %s: %w", name, err)
		}
		return renderedPage(r, variant), nil
	})
}

// renderedPage encodes one variant of a rendered upstream document.
func renderedPage(r *renderedDoc, variant string) *page.Page {
	var p *page.Page
	switch variant {
	case variantAbbreviated:
		p = page.New(r.abbreviatedJSON(), typeAbbreviated)
	case variantDistTags:
		p = page.New(mustJSON(r.tags), typeJSON)
	default:
		p = page.New(r.fullJSON(), typeJSON)
	}
	if variant != variantDistTags {
		p.Vary = "Accept"
	}
	p.LastModified = r.modified
	return p
}

// firstSeen returns the digests of the files Trove imported of a name.
func (h *Handler) firstSeen(ctx context.Context, name trove.Name) (map[string]firstSeen, error) {
	proj, err := h.o.Registry.Project(ctx, trove.NPM, string(name))
	if errors.Is(err, trove.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]firstSeen, len(proj.Releases))
	for _, rel := range proj.Releases {
		var m struct{ Dist firstSeen }
		if decodeJSON(rel.Metadata, &m, "a stored manifest") == nil && m.Dist.Integrity != "" {
			out[rel.Version] = m.Dist
		}
	}
	return out, nil
}

// parsedDoc returns the document st was learned from: kept parsed, or
// read from the database cache and parsed again.
func (h *Handler) parsedDoc(ctx context.Context, name trove.Name, st *proxyState) (*upstream.Doc, *upstreamDoc, error) {
	if pd := h.proxy.parsedOf(st); pd != nil {
		return pd.doc, pd.d, nil
	}
	return h.upstreamDoc(ctx, name)
}

// serveProxied serves a packument variant of an upstream name.
func (h *Handler) serveProxied(w http.ResponseWriter, r *http.Request, name trove.Name, variant string, st *proxyState) error {
	p, err := h.proxyPage(r.Context(), name, variant, st)
	if err != nil {
		return err
	}
	setUpstreamHeader(w, st)
	page.Serve(w, r, p)
	return nil
}

func setUpstreamHeader(w http.ResponseWriter, st *proxyState) {
	if st.stale {
		w.Header().Set(UpstreamHeader, "stale")
	} else {
		w.Header().Set(UpstreamHeader, "fresh")
	}
}

// proxyTarball serves a tarball of an upstream name: imported already, or
// fetched, verified and imported now.
func (h *Handler) proxyTarball(w http.ResponseWriter, r *http.Request, req request, st *proxyState) error {
	version, ok := strings.CutPrefix(req.filename, basename(req.name)+"-")
	version, isTgz := strings.CutSuffix(version, ".tgz")
	if !ok || !isTgz {
		return trove.Error(trove.ErrNotFound, "%s has no file %s", req.name, req.filename)
	}
	if dec, no := st.blocked[version]; no {
		return blockedError(req.name, version, dec)
	}
	f, err := h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
	if errors.Is(err, trove.ErrNotFound) {
		if err = h.importUpstream(r.Context(), st, req.name, req.filename, version); err == nil {
			f, err = h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
		}
	}
	if err != nil {
		return err
	}
	setUpstreamHeader(w, st)
	return adapter.Download(w, r, h.o.Registry, f, "application/octet-stream")
}

// blockedError is the error of a request for a version the policy blocks
// (403, naming the rule and, in the decision, whom to ask).
func blockedError(name trove.Name, version string, dec upstream.Decision) error {
	return &upstream.BlockedError{Version: upstream.Version{Ecosystem: trove.NPM, Name: name, Version: version}, Decision: dec}
}

// importUpstream fetches, verifies and imports one upstream tarball.
// Concurrent requests for it fetch it once; none is stored unless it
// matches the upstream's document and its package.json is the package.
func (h *Handler) importUpstream(ctx context.Context, st *proxyState, name trove.Name, filename, version string) error {
	ctx = context.WithoutCancel(ctx) // others may be waiting on this fetch
	return h.proxy.up.Once(string(trove.NPM)+"\x00"+string(name)+"\x00"+filename, func() error {
		if _, err := h.o.Registry.File(ctx, trove.NPM, name, filename); err == nil {
			return nil // a run that just finished imported it
		}
		doc, d, err := h.parsedDoc(ctx, name, st)
		if err != nil {
			return err
		}
		uv := d.versions[version]
		if uv == nil || upstreamFilename(name, version) != filename {
			return trove.Error(trove.ErrNotFound, "%s has no version %s upstream", name, version)
		}
		blocked, err := h.blocked(ctx, d, version)
		if err != nil {
			return err
		}
		if dec, no := blocked[version]; no {
			return blockedError(name, version, dec)
		}
		return h.fetchAndImport(ctx, doc, uv, name, filename)
	})
}

// fetchAndImport fetches a version's tarball from the upstream that
// served doc, verifies it and imports it.
func (h *Handler) fetchAndImport(ctx context.Context, doc *upstream.Doc, uv *upstreamVersion, name trove.Name, filename string) error {
	staged, err := h.proxy.up.Fetch(ctx, doc.Source, doc.URL, uv.tarball, h.o.MaxPublishBytes, h.o.Registry)
	if err != nil {
		return err
	}
	defer staged.Close()
	var metadata []byte
	err = verifyUpstream(uv, staged.Digests)
	if err == nil {
		metadata, err = upstreamManifest(staged, name, uv.version)
	}
	if err != nil {
		slog.Warn("npm upstream: tarball refused", "upstream", doc.Source.Name, "package", string(name), "version", uv.version, "url", uv.tarball, "err", err)
		return fmt.Errorf("%w: the upstream %s served a tarball of %s@%s that Trove refused: %v; nothing was stored",
			trove.ErrUpstream, doc.Source.Name, name, uv.version, err)
	}
	_, err = h.o.Registry.Import(ctx, &registry.Import{
		Upload: registry.Upload{Ecosystem: trove.NPM, Name: string(name), Version: uv.version, Metadata: metadata,
			Files:        []registry.UploadFile{{Filename: filename, Kind: "tarball", Content: staged}},
			Dependencies: dependencies(mustManifest(metadata))},
		Source: doc.Source.Name,
		URL:    uv.tarball,
	})
	return err
}
