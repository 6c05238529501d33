package pypi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// upAccept is what Trove asks an upstream for: PEP 691 JSON, or HTML.
const upAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

// upstreamHeader tells clients whether proxied metadata is fresh or served
// stale because no upstream answered.
const upstreamHeader = "X-Trove-Upstream"

// proxies reports whether the project name (normalized) is served from
// upstreams: an upstream is configured and the name is not local. A local
// name is served from local releases only, whatever an upstream has.
func (h *Handler) proxies(ctx context.Context, name string) (bool, error) {
	if !h.upstreamEnabled() {
		return false, nil
	}
	local, err := h.o.Registry.Local(ctx, trove.PyPI, name)
	return !local, err
}

// HasUpstream reports whether an upstream has the project name (for
// upstream.Names, which the registry asks before a new local project is
// created): false when every upstream answered that it does not, an error
// when none could say. The upstream's page is cached for proxying.
func (h *Handler) HasUpstream(ctx context.Context, name trove.Name) (bool, error) {
	if !h.upstreamEnabled() {
		return false, nil
	}
	return h.o.Upstream.Has(ctx, string(name), "simple/"+string(name)+"/", http.Header{"Accept": {upAccept}})
}

// upstreamEnabled reports whether any upstream is configured.
func (h *Handler) upstreamEnabled() bool { return h.o.Upstream != nil && h.o.Upstream.Enabled() }

// upIndex returns the upstream's page of a project, parsed, and its
// document. A fresh document is kept in memory, parsed, for the upstream
// client's TTL, in which the client would answer from its cache too.
func (h *Handler) upIndex(ctx context.Context, name string) (*upIndex, *upstream.Doc, error) {
	if e, ok := h.memo.get(name, h.o.Now()); ok {
		return e.idx, e.doc, nil
	}
	doc, err := h.o.Upstream.Doc(ctx, name, "simple/"+name+"/", http.Header{"Accept": {upAccept}})
	if err != nil {
		return nil, nil, err
	}
	idx, err := parseUpIndex(name, doc.Body, doc.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: upstream %s: %s: %v", trove.ErrUpstream, doc.Source.Name, doc.URL, err)
	}
	idx.tag = "stale@" + doc.FetchedAt.UTC().Format(time.RFC3339Nano)
	if !doc.Stale { // a stale document is asked for again each time
		idx.tag = strconv.FormatUint(h.memo.seq.Add(1), 10)
		h.memo.put(name, upEntry{idx: idx, doc: doc, until: h.o.Now().Add(h.o.Upstream.TTL())})
	}
	return idx, doc, nil
}

// maxMemo bounds the upstream pages kept parsed in memory.
const maxMemo = 10_000

// An upMemo keeps parsed upstream pages by project name.
type upMemo struct {
	mu  sync.Mutex
	m   map[string]upEntry
	seq atomic.Uint64 // tags of the pages kept
	// blocked holds, by project, the versions (by VersionKey) the policy
	// blocked when the project's page was last rendered, so that files
	// imported before are refused too without asking the policy (and the
	// database) on every download.
	blocked map[string]map[string]upstream.Decision
}

type upEntry struct {
	idx   *upIndex
	doc   *upstream.Doc
	until time.Time
}

func (m *upMemo) get(name string, now time.Time) (upEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[name]
	return e, ok && now.Before(e.until)
}

// setBlocked records the versions of a project the policy blocks; nil
// (a project served locally) forgets them.
func (m *upMemo) setBlocked(name string, vs map[string]upstream.Decision) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(vs) == 0 {
		delete(m.blocked, name)
		return
	}
	if m.blocked == nil || len(m.blocked) >= maxMemo {
		m.blocked = make(map[string]map[string]upstream.Decision)
	}
	m.blocked[name] = vs
}

// blockedAs returns the decision that blocked a version of a project.
func (m *upMemo) blockedAs(name, version string) (upstream.Decision, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.blocked[name]
	if len(vs) == 0 {
		return upstream.Decision{}, false
	}
	k, err := (Rules{}).VersionKey(version)
	if err != nil {
		return upstream.Decision{}, false
	}
	d, ok := vs[k]
	return d, ok
}

func (m *upMemo) put(name string, e upEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxMemo {
		m.m = make(map[string]upEntry)
	}
	m.m[name] = e
}

// proxyProject serves the page of a project proxied from upstreams: the
// upstream's files, those already imported as Trove holds them, filtered
// by the curation policy, with every URL pointing at Trove. The page is
// rendered once per upstream page kept and change of the project.
func (h *Handler) proxyProject(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	f := negotiate(r.Header.Get("Accept"))
	idx, doc, err := h.upIndex(ctx, name)
	if errors.Is(err, trove.ErrNotFound) {
		// No upstream has it; imported releases may remain.
		return h.localProject(w, r, name, f)
	}
	if err != nil {
		return err
	}
	// Rendered again with each upstream page kept (once per TTL), so that
	// the policy's decisions that change with time (a cool-down ending)
	// and with curators' decisions show within the TTL.
	key := page.Key{Group: string(trove.PyPI), Name: name, Variant: "upstream-" + formats[f].variant + "@" + idx.tag}
	p, err := h.o.Pages.Get(key, func() (*page.Page, error) {
		versions, files, err := h.proxiedListing(context.WithoutCancel(ctx), name, idx)
		if err != nil {
			return nil, err
		}
		return renderListing(name, versions, files, -1, f), nil
	})
	if err != nil {
		return err
	}
	w.Header().Set(upstreamHeader, doc.Freshness())
	page.Serve(w, r, p)
	return nil
}

// localProject serves a project's page from what Trove holds.
func (h *Handler) localProject(w http.ResponseWriter, r *http.Request, name string, f format) error {
	p, err := h.o.Pages.Get(page.Key{Group: string(trove.PyPI), Name: name, Variant: "simple-" + formats[f].variant}, func() (*page.Page, error) {
		proj, err := h.o.Registry.Project(context.WithoutCancel(r.Context()), trove.PyPI, name)
		if err != nil {
			return nil, err
		}
		return h.renderProject(proj, f), nil
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// A upVersion is a version of a proxied project and its files, upstream
// and imported.
type upVersion struct {
	version  string // as first written
	upstream []upFile
	imported []fileView
}

// proxiedListing merges an upstream page with the project's imported
// files and filters both by the curation policy. An imported file is shown
// as Trove holds it (first-seen bytes win), marked yanked if either side
// yanked it; an upstream file without a sha256 is left out, since Trove
// serves only files it can verify.
func (h *Handler) proxiedListing(ctx context.Context, name string, idx *upIndex) ([]string, []listing, error) {
	vs, err := h.versions(ctx, name, idx)
	if err != nil {
		return nil, nil, err
	}
	allowed, err := h.allowed(ctx, name, vs)
	if err != nil {
		return nil, nil, err
	}
	versions := make([]string, 0, len(allowed))
	var files []listing
	for _, v := range allowed {
		versions = append(versions, v.version)
		files = append(files, h.versionFiles(v)...)
	}
	return versions, files, nil
}

// versions groups the upstream's and the imported files by version, in
// PEP 440 order.
func (h *Handler) versions(ctx context.Context, name string, idx *upIndex) ([]*upVersion, error) {
	byKey := map[string]*upVersion{}
	var order []*upVersion
	get := func(v string) *upVersion {
		k, err := (Rules{}).VersionKey(v)
		if err != nil {
			return nil
		}
		if uv := byKey[k]; uv != nil {
			return uv
		}
		uv := &upVersion{version: v}
		byKey[k] = uv
		order = append(order, uv)
		return uv
	}
	for _, v := range idx.Versions {
		get(v)
	}
	for _, f := range idx.Files {
		if uv := get(f.Version); uv != nil {
			uv.upstream = append(uv.upstream, f)
		}
	}
	proj, err := h.o.Registry.Project(ctx, trove.PyPI, name)
	if err != nil && !errors.Is(err, trove.ErrNotFound) {
		return nil, err
	}
	if proj != nil {
		for _, v := range h.views(proj, proj.Releases) {
			if uv := get(v.Release.Version); uv != nil {
				uv.imported = append(uv.imported, v)
			}
		}
	}
	slices.SortStableFunc(order, func(a, b *upVersion) int {
		va, _ := ParseVersion(a.version)
		vb, _ := ParseVersion(b.version)
		return va.Compare(vb)
	})
	return order, nil
}

// allowed returns the versions the curation policy allows.
func (h *Handler) allowed(ctx context.Context, name string, vs []*upVersion) ([]*upVersion, error) {
	q := make([]upstream.Version, len(vs))
	for i, v := range vs {
		q[i] = upstream.Version{Ecosystem: trove.PyPI, Name: trove.Name(name), Version: v.version, Published: published(v)}
	}
	ds, err := h.o.Upstream.Decide(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []*upVersion
	blocked := map[string]upstream.Decision{}
	for i, d := range ds {
		if d.Allowed {
			out = append(out, vs[i])
		} else if k, err := (Rules{}).VersionKey(vs[i].version); err == nil {
			blocked[k] = d
		}
	}
	h.memo.setBlocked(name, blocked)
	return out, nil
}

// published returns when a version was first published upstream: the
// earliest upload time of its files (zero when the upstream does not say,
// as HTML pages do not).
func published(v *upVersion) (t time.Time) {
	for _, f := range v.upstream {
		if !f.UploadTime.IsZero() && (t.IsZero() || f.UploadTime.Before(t)) {
			t = f.UploadTime
		}
	}
	return t
}

// versionFiles returns a version's files as its page lists them, by filename.
func (h *Handler) versionFiles(v *upVersion) []listing {
	imported := make(map[string]fileView, len(v.imported))
	for _, f := range v.imported {
		imported[f.Filename] = f
	}
	var out []listing
	for _, u := range v.upstream {
		if f, ok := imported[u.Filename]; ok {
			l := f.listing()
			if u.Yanked && !l.Yanked {
				l.Yanked, l.YankedReason = true, u.YankedReason
			}
			out = append(out, l)
			delete(imported, u.Filename)
			continue
		}
		if u.SHA256 == "" {
			continue
		}
		out = append(out, listing{Filename: u.Filename, URL: h.upFileURL(u), SHA256: u.SHA256,
			RequiresPython: u.RequiresPython, Size: u.Size, UploadTime: u.UploadTime, Yanked: u.Yanked,
			YankedReason: u.YankedReason, MetadataSHA256: u.MetadataSHA256})
	}
	for _, f := range imported { // no longer listed upstream: Trove still holds it
		out = append(out, f.listing())
	}
	slices.SortFunc(out, func(a, b listing) int { return strings.Compare(a.Filename, b.Filename) })
	return out
}

// upFileURL returns Trove's URL of an upstream file: the URL it will have
// once imported, naming the sha256 the upstream's index gives.
func (h *Handler) upFileURL(u upFile) string {
	return h.o.BaseURL + "/packages/" + u.SHA256 + "/" + url.PathEscape(u.Filename)
}

// upstreamFile finds the upstream file a /packages/ URL names: the
// project is read from the filename, and must not be local; the file must
// be on the upstream's page with the URL's sha256, and its version allowed
// by the curation policy.
func (h *Handler) upstreamFile(ctx context.Context, req request) (string, upFile, *upstream.Doc, error) {
	name, err := h.upstreamProject(ctx, req.filename)
	if err != nil {
		return "", upFile{}, nil, err
	}
	idx, doc, err := h.upIndex(ctx, name)
	if err != nil {
		return "", upFile{}, nil, err
	}
	i := slices.IndexFunc(idx.Files, func(f upFile) bool { return f.Filename == req.filename })
	if i < 0 {
		return "", upFile{}, nil, trove.Error(trove.ErrNotFound, "file %s not found: upstream %s does not list it", req.filename, doc.Source.Name)
	}
	u := idx.Files[i]
	switch u.SHA256 {
	case "":
		return "", upFile{}, nil, trove.Error(trove.ErrNotFound,
			"file %s not served: upstream %s gives no sha256 for it, and Trove serves only files it can verify", req.filename, doc.Source.Name)
	case string(req.digest):
	default:
		return "", upFile{}, nil, trove.Error(trove.ErrNotFound, "file %s with sha256 %s not found: upstream %s lists it with sha256 %s",
			req.filename, req.digest, doc.Source.Name, u.SHA256)
	}
	if err := h.checkPolicy(ctx, name, &upVersion{version: u.Version, upstream: []upFile{u}}); err != nil {
		return "", upFile{}, nil, err
	}
	return name, u, doc, nil
}

// upstreamProject returns the project a filename names that is proxied.
// An sdist's filename may be read several ways; local names never are.
func (h *Handler) upstreamProject(ctx context.Context, fn string) (string, error) {
	ds, err := parseFilename(fn)
	if err != nil {
		return "", trove.Error(trove.ErrNotFound, "%w", err)
	}
	for _, d := range ds {
		name := Normalize(d.Name)
		ok, err := h.proxies(ctx, name)
		if err != nil {
			return "", err
		}
		if ok {
			return name, nil
		}
	}
	return "", trove.Error(trove.ErrNotFound, "file %s not found", fn)
}

// checkPolicy refuses a version the curation policy blocks
// (*upstream.BlockedError, a 403 naming the rule and whom to ask).
func (h *Handler) checkPolicy(ctx context.Context, name string, v *upVersion) error {
	return h.o.Upstream.Check(ctx, upstream.Version{Ecosystem: trove.PyPI, Name: trove.Name(name), Version: v.version, Published: published(v)})
}

// blockedError is the error of a request for a version the policy blocked.
func blockedError(name, version string, d upstream.Decision) error {
	return &upstream.BlockedError{Version: upstream.Version{Ecosystem: trove.PyPI, Name: trove.Name(name), Version: version}, Decision: d}
}

// proxyFile serves a file of a proxied project, importing it first: the
// upstream's bytes are fetched once however many clients ask, verified
// against the sha256 of the upstream's index, read with the checks of an
// upload, and recorded (registry.Import) before any byte is served.
func (h *Handler) proxyFile(w http.ResponseWriter, r *http.Request, req request) error {
	ctx := r.Context()
	name, u, doc, err := h.upstreamFile(ctx, req)
	if err != nil {
		return err
	}
	err = h.o.Upstream.Once(string(trove.PyPI)+"/"+u.SHA256+"/"+u.Filename, func() error {
		if _, err := h.lookupFile(ctx, req); err == nil {
			return nil // imported meanwhile
		}
		return h.importFile(context.WithoutCancel(ctx), name, u, doc)
	})
	if err != nil {
		return err
	}
	return h.serveFile(w, r, req)
}

// importFile fetches, verifies and imports an upstream file.
func (h *Handler) importFile(ctx context.Context, name string, u upFile, doc *upstream.Doc) error {
	st, err := h.o.Upstream.Fetch(ctx, doc.Source, doc.URL, u.URL, h.o.MaxUploadBytes, h.o.Registry)
	if err != nil {
		return err
	}
	defer st.Close()
	if got := string(st.Digests.SHA256); got != u.SHA256 {
		slog.Warn("pypi: upstream file does not match its index; refused, nothing stored",
			"upstream", doc.Source.Name, "url", u.URL, "file", u.Filename, "index_sha256", u.SHA256, "sha256", got)
		return fmt.Errorf("%w: upstream %s served %s with sha256 %s, but its index says %s: refused, nothing stored",
			trove.ErrUpstream, doc.Source.Name, u.Filename, got, u.SHA256)
	}
	up, err := readDist(u.Filename, st)
	if err != nil {
		return fmt.Errorf("%w: upstream %s: %s is not a valid distribution: %v", trove.ErrUpstream, doc.Source.Name, u.Filename, err)
	}
	if Normalize(up.Name) != name {
		return fmt.Errorf("%w: upstream %s: %s holds the project %s, not %s", trove.ErrUpstream, doc.Source.Name, u.Filename, up.Name, name)
	}
	_, err = h.o.Registry.Import(ctx, &registry.Import{Upload: *up, Source: doc.Source.Name, URL: u.URL})
	return err
}

// proxyMetadata serves the core metadata file (PEP 658) of a proxied file
// not imported yet: the upstream's, verified against the sha256 its index
// gives, and cached as a page until the project changes.
func (h *Handler) proxyMetadata(w http.ResponseWriter, r *http.Request, req request) error {
	ctx := r.Context()
	name, u, doc, err := h.upstreamFile(ctx, req)
	if err != nil {
		return err
	}
	if u.MetadataSHA256 == "" {
		return trove.Error(trove.ErrNotFound, "%s has no core metadata file with a sha256 upstream", u.Filename)
	}
	key := page.Key{Group: string(trove.PyPI), Name: name, Variant: "upstream-metadata/" + u.Filename + "@" + u.MetadataSHA256}
	p, err := h.o.Pages.Get(key, func() (*page.Page, error) {
		return h.fetchMetadata(context.WithoutCancel(ctx), u, doc)
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// fetchMetadata fetches and verifies an upstream core metadata file.
func (h *Handler) fetchMetadata(ctx context.Context, u upFile, doc *upstream.Doc) (*page.Page, error) {
	st, err := h.o.Upstream.Fetch(ctx, doc.Source, doc.URL, u.URL+metadataSuffix, MaxMetadataBytes, h.o.Registry)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if got := string(st.Digests.SHA256); got != u.MetadataSHA256 {
		slog.Warn("pypi: upstream core metadata does not match its index; refused",
			"upstream", doc.Source.Name, "url", u.URL+metadataSuffix, "index_sha256", u.MetadataSHA256, "sha256", got)
		return nil, fmt.Errorf("%w: upstream %s served the core metadata of %s with sha256 %s, but its index says %s: refused",
			trove.ErrUpstream, doc.Source.Name, u.Filename, got, u.MetadataSHA256)
	}
	b, err := io.ReadAll(st.Reader())
	if err != nil {
		return nil, err
	}
	return page.New(b, metadataContentType), nil
}
