package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/trove"
)

// packagePrefix is where package pages are: /-/package/<ecosystem>/<name>
// and /-/package/<ecosystem>/<name>@<version>. "@" cannot occur in a name
// but as the first character of an npm scope, and "/-/" paths are the web
// interface's, never an ecosystem mount's.
const packagePrefix = "/-/package/"

// A packagePath is a parsed package page path.
type packagePath struct {
	Ecosystem trove.Ecosystem
	Name      string // as written; the registry normalizes it
	Version   string // "" for the package's latest
}

// parsePackagePath parses the part of a package page's path after
// packagePrefix, already unescaped.
func parsePackagePath(rest string) (packagePath, error) {
	eco, name, ok := strings.Cut(rest, "/")
	if !ok || eco == "" || name == "" {
		return packagePath{}, trove.Error(trove.ErrNotFound, "no package page at %q: want %s<ecosystem>/<name>[@<version>]", clip(rest), packagePrefix)
	}
	var version string
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		name, version = name[:i], name[i+1:]
		if version == "" {
			return packagePath{}, trove.Error(trove.ErrNotFound, "no package page at %q: the version after @ is empty", clip(rest))
		}
	}
	if len(name) > 512 || len(version) > 256 {
		return packagePath{}, trove.Error(trove.ErrNotFound, "no package page at %q: name or version too long", clip(rest))
	}
	return packagePath{Ecosystem: trove.Ecosystem(eco), Name: name, Version: version}, nil
}

// clip shortens user input quoted in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// packageURL returns the page of a package, or of one of its versions.
func packageURL(eco trove.Ecosystem, name, version string) string {
	u := packagePrefix + url.PathEscape(string(eco)) + "/" + escapeName(name)
	if version != "" {
		u += "@" + url.PathEscape(version)
	}
	return u
}

// escapeName escapes a name's path segments, keeping its slashes.
func escapeName(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// packagePageView is what the package page's layout wraps: the body is
// rendered once per change of the package and cached.
type packagePageView struct {
	Title string
	Body  template.HTML
	// Findings are the shown release's scan findings, for a signed-in
	// maintainer of the package (never cached).
	Findings []*meta.ScanResult
}

// packagePage serves a package page from the page cache.
func (h *Handler) packagePage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Registry == nil {
		h.notFound(w, r)
		return nil
	}
	p, err := parsePackagePath(strings.TrimPrefix(r.URL.Path, packagePrefix))
	if err != nil {
		return err
	}
	body, title, err := h.packageBody(r.Context(), p)
	if err != nil {
		return err
	}
	view := packagePageView{Title: title, Body: body}
	if who := sessionPrincipal(v); who != nil && p.Version != "" {
		// Maintainers and administrators see the findings; for anyone
		// else the registry refuses, and the page shows the summary alone.
		if scans, err := h.o.Registry.ScanFindings(r.Context(), who, p.Ecosystem, p.Name, p.Version); err == nil {
			view.Findings = scans
		}
	}
	h.page(w, r, http.StatusOK, "package", view)
	return nil
}

// packageBody returns the cached body of a package page and its title.
func (h *Handler) packageBody(ctx context.Context, p packagePath) (template.HTML, string, error) {
	rules := h.o.Registry.Rules(p.Ecosystem)
	if rules == nil {
		return "", "", trove.Error(trove.ErrNotFound, "no ecosystem %q on this server", clip(string(p.Ecosystem)))
	}
	n, err := rules.ParseName(p.Name)
	if err != nil {
		return "", "", trove.Error(trove.ErrNotFound, "package %s not found: %v", clip(p.Name), err)
	}
	title := p.Name
	if p.Version != "" {
		title += " " + p.Version
	}
	// The cache holds pages rendered for whoever asked first: a private
	// package's page is served only to those who may read it, and everyone
	// else gets the answer of a name never published.
	if err := h.o.Registry.CanRead(ctx, p.Ecosystem, n); errors.Is(err, trove.ErrNotFound) {
		return "", "", trove.Error(trove.ErrNotFound, "package %s not found", p.Name)
	} else if err != nil {
		return "", "", err
	}
	k := page.Key{Group: string(p.Ecosystem), Name: string(n), Variant: "web@" + p.Version}
	// The render may serve other requests waiting on it (singleflight):
	// this request's end must not fail theirs.
	rctx := context.WithoutCancel(ctx)
	pg, err := h.cache.Get(k, func() (*page.Page, error) {
		b, err := h.renderPackage(rctx, p)
		if err != nil {
			return nil, err
		}
		return page.New(b, "text/html; charset=utf-8"), nil
	})
	if err != nil {
		return "", "", err
	}
	b, err := pg.Bytes()
	return template.HTML(b), title, err
}

// renderPackage renders the body of a package page.
func (h *Handler) renderPackage(ctx context.Context, p packagePath) ([]byte, error) {
	v, err := h.o.Registry.View(ctx, p.Ecosystem, p.Name)
	if err != nil {
		return nil, err
	}
	pv, err := h.packageView(v, p.Version)
	if err != nil {
		return nil, err
	}
	if pv.Release != nil && pv.Release.State.Visible() {
		// The summary changes only with the release (a scan stores it before
		// the release becomes visible), whose change drops this page.
		if pv.Scan, err = h.o.Registry.ScanSummary(ctx, p.Ecosystem, p.Name, pv.Release.Version); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	if err := h.pages["package"].ExecuteTemplate(&b, "package-body", pv); err != nil {
		return nil, fmt.Errorf("rendering the page of %s: %w", p.Name, err)
	}
	return b.Bytes(), nil
}

// watchPackages keeps cached package pages, the home page's lists and the
// search index up to date: a change to a package drops its own pages (as
// cmd/trove's watcher does for every cached page of it), the pages of the
// packages it depends on (their dependents), the home page, and its
// search entry.
func (h *Handler) watchPackages() {
	h.o.Registry.Watch(func(eco trove.Ecosystem, name trove.Name) {
		h.cache.Invalidate(string(eco), string(name))
		h.cache.Invalidate(webGroup, "")
		h.search.changed(eco, name)
		if strings.Contains(string(name), "*") {
			h.cache.InvalidateGroup(string(eco))
			return
		}
		go func() { // Watch callbacks must not block
			targets, err := h.o.Registry.DependencyTargets(context.Background(), eco, name)
			if err != nil {
				slog.Warn("finding the dependencies of a changed package", "ecosystem", eco, "name", name, "err", err)
				h.cache.InvalidateGroup(string(eco))
				return
			}
			for _, t := range targets {
				h.cache.Invalidate(string(eco), string(t))
			}
		}()
	})
}

// webGroup is the page-cache group of pages about many packages (home).
const webGroup = "web"

// setupPackages prepares the package pages: their cache, the search
// index, and the watcher keeping both current.
func (h *Handler) setupPackages() {
	h.cache = h.o.Pages
	if h.cache == nil {
		h.cache = page.NewCache(16 << 20)
	}
	if h.o.Registry == nil {
		h.search = &searchIndex{}
		return
	}
	// The index is everyone's: public packages only (Listings lists no
	// other), even when a reader's search re-reads a changed package.
	public := func(ctx context.Context, eco trove.Ecosystem, name trove.Name) (meta.Listing, error) {
		return h.o.Registry.Listing(access.WithPrincipal(ctx, nil), eco, name)
	}
	h.search = &searchIndex{list: h.o.Registry.Listings, one: public}
	h.watchPackages()
}
