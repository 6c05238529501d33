package goproxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Content types of the proxy's responses.
const (
	textContentType = "text/plain; charset=utf-8"
	zipContentType  = "application/zip"
)

// An Info is the JSON of .info and @latest.
type Info struct {
	Version string
	Time    time.Time
}

// list serves the published versions that are neither yanked nor
// pseudo-versions (which the go command ignores in lists), oldest first.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.canRead(r.Context(), req); err != nil {
		return err
	}
	if up, err := h.proxied(r.Context(), req.module); err != nil || up {
		if err != nil {
			return err
		}
		return h.upstreamList(w, r, req.module)
	}
	p, err := h.o.Pages.Get(pageKey(req.module, "list"), func() (*page.Page, error) {
		proj, err := h.o.Registry.Project(r.Context(), trove.Go, req.module)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, v := range listed(proj) {
			b.WriteString(v + "\n")
		}
		return page.New([]byte(b.String()), textContentType), nil
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

func pageKey(mod, variant string) page.Key {
	return page.Key{Group: string(trove.Go), Name: mod, Variant: variant}
}

// listed returns the versions @v/list shows, in semver order.
func listed(proj *registry.Project) []string {
	var vs []string
	for _, rel := range proj.Releases {
		if rel.State == trove.Published && !module.IsPseudoVersion(rel.Version) {
			vs = append(vs, rel.Version)
		}
	}
	semver.Sort(vs)
	return vs
}

// latest serves the .info of the version the go command would pick: the
// highest release, else the highest pre-release, else the highest
// pseudo-version, leaving yanked versions out.
func (h *Handler) latest(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.canRead(r.Context(), req); err != nil {
		return err
	}
	if up, err := h.proxied(r.Context(), req.module); err != nil || up {
		if err != nil {
			return err
		}
		return h.upstreamLatest(w, r, req.module)
	}
	p, err := h.o.Pages.Get(pageKey(req.module, "latest"), func() (*page.Page, error) {
		proj, err := h.o.Registry.Project(r.Context(), trove.Go, req.module)
		if err != nil {
			return nil, err
		}
		rel := pickLatest(proj.Releases)
		if rel == nil {
			return nil, trove.Error(trove.ErrNotFound, "%s has no published version that is not yanked", req.module)
		}
		return infoPage(rel)
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

func pickLatest(rels []*trove.Release) *trove.Release {
	var best *trove.Release
	for _, rel := range rels {
		if rel.State == trove.Published && (best == nil || betterLatest(rel.Version, best.Version)) {
			best = rel
		}
	}
	return best
}

// infoPage returns the .info of a release: its publish time, or for a
// version imported from an upstream the upstream's time.
func infoPage(rel *trove.Release) (*page.Page, error) {
	at := rel.PublishedAt
	var md releaseMeta
	if json.Unmarshal(rel.Metadata, &md) == nil && !md.Time.IsZero() {
		at = md.Time
	}
	b, err := json.Marshal(Info{Version: rel.Version, Time: at.UTC().Truncate(time.Second)})
	if err != nil {
		return nil, err
	}
	return page.New(append(b, '\n'), "application/json"), nil
}

// info serves a version's .info, yanked or not, importing it first if
// it is an upstream module's that is not here yet.
func (h *Handler) info(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.canRead(r.Context(), req); err != nil {
		return err
	}
	p, err := h.infoPage(r.Context(), req)
	if isMissing(err) {
		if filled, ferr := h.fill(r.Context(), req.module, req.version); ferr != nil {
			return ferr
		} else if filled {
			p, err = h.infoPage(r.Context(), req)
		}
	}
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// isMissing reports whether err is a version that is not here and never
// was (not one that was deleted).
func isMissing(err error) bool {
	return errors.Is(err, trove.ErrNotFound) && !errors.Is(err, trove.ErrGone)
}

// infoPage returns the .info page of a version here.
func (h *Handler) infoPage(ctx context.Context, req request) (*page.Page, error) {
	return h.o.Pages.Get(pageKey(req.module, "info "+req.version), func() (*page.Page, error) {
		proj, err := h.o.Registry.Project(ctx, trove.Go, req.module)
		if err != nil && !errors.Is(err, trove.ErrNotFound) {
			return nil, err
		}
		if proj != nil {
			for _, rel := range proj.Releases {
				if rel.Version == req.version {
					return infoPage(rel)
				}
			}
		}
		return nil, h.missing(ctx, req)
	})
}

// missing returns the error for a version that is not visible: gone if
// it was deleted, else not found.
func (h *Handler) missing(ctx context.Context, req request) error {
	deleted, err := h.o.Registry.Deleted(ctx, trove.Go, req.module, req.version)
	if err != nil {
		return err
	}
	if deleted {
		return trove.Error(trove.ErrGone, "%s@%s was deleted from this registry; choose another version", req.module, req.version)
	}
	return versionNotFound(req)
}

// versionNotFound is the answer for a version that is not here and never was.
func versionNotFound(req request) error {
	return trove.Error(trove.ErrNotFound, "%s@%s: not found", req.module, req.version)
}

// canRead checks, before any cache or upstream is asked, that the request
// may read the module of req (docs/private-packages.md). A private module
// it may not read answers exactly as a module path nobody published does
// without upstreams: it is local, so it is never fetched from one.
func (h *Handler) canRead(ctx context.Context, req request) error {
	err := h.o.Registry.CanRead(ctx, trove.Go, trove.Name(req.module))
	if err == nil || !errors.Is(err, trove.ErrNotFound) {
		return err
	}
	switch req.ep {
	case epInfo, epMod, epZip:
		return versionNotFound(req)
	}
	return err // list and @latest: that of registry.Project, "package <module> not found"
}

// download serves a version's .mod or .zip, yanked or not.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, req request) error {
	filename, ct := req.version+".zip", zipContentType
	if req.ep == epMod {
		filename, ct = req.version+".mod", textContentType
	}
	if err := h.canRead(r.Context(), req); err != nil {
		return err
	}
	f, err := h.o.Registry.File(r.Context(), trove.Go, trove.Name(req.module), filename)
	if errors.Is(err, trove.ErrNotFound) {
		f, err = h.fillFile(r.Context(), req, filename)
	}
	if err != nil {
		return err
	}
	return adapter.Download(w, r, h.o.Registry, f, ct)
}

// fillFile returns a file of a version that is not here, after importing
// the version if it is an upstream module's; else why it is not here.
func (h *Handler) fillFile(ctx context.Context, req request, filename string) (*trove.File, error) {
	miss := h.missing(ctx, req)
	if !isMissing(miss) {
		return nil, miss
	}
	filled, err := h.fill(ctx, req.module, req.version)
	switch {
	case err != nil:
		return nil, err
	case !filled:
		return nil, miss
	}
	return h.o.Registry.File(ctx, trove.Go, trove.Name(req.module), filename)
}
