package goproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// Upstream modules
//
// A module path that is not local (registry.Service.Local: no local
// module at, above or below it, and no exception) is served from the
// upstream proxies when Options.Upstream is enabled. Its list and @latest
// come from the first upstream that has the module, filtered by the
// curation policy (upstream.Client.Decide, with each version's time from
// its .info for the cool-down); local modules never get upstream versions.
// The first request for a version's .info, .mod or .zip, or a lookup of
// it in Trove's checksum database, imports the version, once however many
// ask at the same time: its .info, .mod and .zip are fetched, the zip and
// go.mod checked like an upload, their go.sum lines computed and verified
// against the upstream's checksum database (upstreamDB.verify), and the
// version recorded with registry.Service.Import: a release of an upstream
// package, with a transparency-log record of kind proxy carrying the
// go.sum lines, so that Trove's own checksum database answers for it.
// From then on its files are served like local ones. A version that does
// not verify is refused (410, with a SECURITY ERROR message) and nothing
// of it is stored.

// maxInfoBytes bounds an upstream .info and @latest document.
const maxInfoBytes = 64 << 10

// infoFetchers bounds the concurrent .info fetches of one list.
const infoFetchers = 8

// upstreamHeader tells clients whether proxied metadata is fresh.
const upstreamHeader = "X-Trove-Upstream"

// proxied reports whether mod is served from upstreams: they are
// configured and the module path is not local.
func (h *Handler) proxied(ctx context.Context, mod string) (bool, error) {
	if h.o.Upstream == nil || !h.o.Upstream.Enabled() {
		return false, nil
	}
	local, err := h.o.Registry.Local(ctx, trove.Go, mod)
	return !local, err
}

// upstreamPath is the path of a module's file below a proxy's root.
func upstreamPath(mod, file string) (string, error) {
	esc, err := module.EscapePath(mod)
	if err != nil {
		return "", trove.Error(trove.ErrNotFound, "not found: %w", err)
	}
	return "/" + esc + "/" + file, nil
}

// versionFile is the @v/ file name of a version with the extension ext.
func versionFile(v, ext string) (string, error) {
	esc, err := module.EscapeVersion(v)
	if err != nil {
		return "", trove.Error(trove.ErrInvalid, "%w", err)
	}
	return "@v/" + esc + ext, nil
}

// setFreshness sets the header saying whether doc is fresh.
func setFreshness(w http.ResponseWriter, doc *upstream.Doc) {
	if doc.Stale {
		w.Header().Set(upstreamHeader, "stale")
	} else {
		w.Header().Set(upstreamHeader, "fresh")
	}
}

// upstreamList serves the list of an upstream module: the upstream's
// versions that the curation policy allows.
func (h *Handler) upstreamList(w http.ResponseWriter, r *http.Request, mod string) error {
	vs, doc, err := h.upstreamVersions(r.Context(), mod)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.Version + "\n")
	}
	setFreshness(w, doc)
	w.Header().Set("Content-Type", textContentType)
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write([]byte(b.String()))
	return err
}

// upstreamVersions returns the listed versions of an upstream module that
// the policy allows, in semver order, with their times.
func (h *Handler) upstreamVersions(ctx context.Context, mod string) ([]upstream.Version, *upstream.Doc, error) {
	p, err := upstreamPath(mod, "@v/list")
	if err != nil {
		return nil, nil, err
	}
	doc, err := h.o.Upstream.Doc(ctx, mod+"/@v/list", p, nil)
	if err != nil {
		return nil, nil, err
	}
	var listed []string
	for _, line := range strings.Split(string(doc.Body), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && semver.IsValid(f[0]) && module.CanonicalVersion(f[0]) == f[0] &&
			!module.IsPseudoVersion(f[0]) && module.Check(mod, f[0]) == nil {
			listed = append(listed, f[0])
		}
	}
	semver.Sort(listed)
	listed = compactSorted(listed)
	allowed, err := h.allowed(ctx, mod, listed)
	return allowed, doc, err
}

func compactSorted(vs []string) []string {
	out := vs[:0]
	for i, v := range vs {
		if i == 0 || v != vs[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// allowed returns the versions the curation policy allows, with the
// times it read. It decides twice: first without times, which the list
// does not give; then, for the versions only the cool-down refused, with
// their times from the upstream's .info documents (cached like every
// upstream document), fetched a few at a time. Knowing a version's time
// can only let in a version refused for not being known old enough (a
// cool-down fails closed), so the first pass's other decisions stand. A
// version whose .info cannot be had stays refused.
func (h *Handler) allowed(ctx context.Context, mod string, versions []string) ([]upstream.Version, error) {
	vs := make([]upstream.Version, len(versions))
	for i, v := range versions {
		vs[i] = upstream.Version{Ecosystem: trove.Go, Name: trove.Name(mod), Version: v}
	}
	ds, err := h.o.Upstream.Decide(ctx, vs)
	if err != nil {
		return nil, err
	}
	var later []int
	for i, d := range ds {
		if !d.Allowed && d.Rule == ruleCooldown {
			later = append(later, i)
		}
	}
	if len(later) > 0 {
		if err := h.decideWithTimes(ctx, vs, ds, later); err != nil {
			return nil, err
		}
	}
	var out []upstream.Version
	for i, d := range ds {
		if d.Allowed {
			out = append(out, vs[i])
		}
	}
	return out, nil
}

// ruleCooldown is the rule of a decision that depends on a version's time.
const ruleCooldown = "cooldown"

// decideWithTimes decides again on the versions vs[i] for i in which,
// with their times, updating ds.
func (h *Handler) decideWithTimes(ctx context.Context, vs []upstream.Version, ds []upstream.Decision, which []int) error {
	sem := make(chan struct{}, infoFetchers)
	var wg sync.WaitGroup
	for _, i := range which {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if info, _, err := h.upstreamInfo(ctx, string(vs[i].Name), vs[i].Version); err == nil {
				vs[i].Published = info.Time
			}
		}(i)
	}
	wg.Wait()
	again := make([]upstream.Version, len(which))
	for k, i := range which {
		again[k] = vs[i]
	}
	ds2, err := h.o.Upstream.Decide(ctx, again)
	if err != nil {
		return err
	}
	for k, i := range which {
		ds[i] = ds2[k]
	}
	return nil
}

// upstreamInfo returns a version's .info from the upstreams.
func (h *Handler) upstreamInfo(ctx context.Context, mod, v string) (*Info, *upstream.Doc, error) {
	file, err := versionFile(v, ".info")
	if err != nil {
		return nil, nil, err
	}
	p, err := upstreamPath(mod, file)
	if err != nil {
		return nil, nil, err
	}
	doc, err := h.o.Upstream.Doc(ctx, mod+"/"+file, p, nil)
	if err != nil {
		return nil, nil, err
	}
	info, err := parseInfo(doc.Body)
	if err != nil {
		return nil, nil, trove.Error(trove.ErrUpstream, "upstream %s: the .info of %s@%s: %v", doc.Source.Name, mod, v, err)
	}
	if info.Version != v {
		return nil, nil, trove.Error(trove.ErrUpstream, "upstream %s answered the .info of %s@%s with version %q", doc.Source.Name, mod, v, info.Version)
	}
	return info, doc, nil
}

// parseInfo parses a .info or @latest document.
func parseInfo(b []byte) (*Info, error) {
	if len(b) > maxInfoBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxInfoBytes)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("not a JSON {\"Version\", \"Time\"}: %v", err)
	}
	if !semver.IsValid(info.Version) || module.CanonicalVersion(info.Version) != info.Version {
		return nil, fmt.Errorf("version %q is not canonical", info.Version)
	}
	return &info, nil
}

// upstreamLatest serves @latest of an upstream module: the version the go
// command would pick among those listed and allowed, else the upstream's
// own @latest if the policy allows it.
func (h *Handler) upstreamLatest(w http.ResponseWriter, r *http.Request, mod string) error {
	ctx := r.Context()
	vs, doc, err := h.upstreamVersions(ctx, mod)
	if err != nil && !errors.Is(err, trove.ErrNotFound) {
		return err
	}
	var best *upstream.Version
	for i := range vs {
		if best == nil || betterLatest(vs[i].Version, best.Version) {
			best = &vs[i]
		}
	}
	if best == nil {
		return h.upstreamOwnLatest(w, r, mod)
	}
	if best.Published.IsZero() { // not gathered without a policy
		info, _, err := h.upstreamInfo(ctx, mod, best.Version)
		if err != nil {
			return err
		}
		best.Published = info.Time
	}
	setFreshness(w, doc)
	return writeInfo(w, Info{Version: best.Version, Time: best.Published})
}

// betterLatest reports whether a beats b as @latest: a release beats a
// pre-release, which beats a pseudo-version; then the higher one wins.
func betterLatest(a, b string) bool {
	rank := func(v string) int {
		switch {
		case module.IsPseudoVersion(v):
			return 0
		case semver.Prerelease(v) != "":
			return 1
		}
		return 2
	}
	return rank(a) > rank(b) || rank(a) == rank(b) && semver.Compare(a, b) > 0
}

// upstreamOwnLatest serves the upstream's @latest (a module with no
// listed versions, only pseudo-versions) if the policy allows it.
func (h *Handler) upstreamOwnLatest(w http.ResponseWriter, r *http.Request, mod string) error {
	p, err := upstreamPath(mod, "@latest")
	if err != nil {
		return err
	}
	doc, err := h.o.Upstream.Doc(r.Context(), mod+"/@latest", p, nil)
	if err != nil {
		return err
	}
	info, err := parseInfo(doc.Body)
	if err != nil || module.Check(mod, info.Version) != nil {
		return trove.Error(trove.ErrNotFound, "%s: upstream %s has no usable @latest", mod, doc.Source.Name)
	}
	v := upstream.Version{Ecosystem: trove.Go, Name: trove.Name(mod), Version: info.Version, Published: info.Time}
	if err := h.o.Upstream.Check(r.Context(), v); err != nil {
		return err
	}
	setFreshness(w, doc)
	return writeInfo(w, *info)
}

func writeInfo(w http.ResponseWriter, info Info) error {
	b, err := json.Marshal(Info{Version: info.Version, Time: info.Time.UTC()})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(append(b, '\n'))
	return err
}

// fill imports mod@v from the upstreams if mod is an upstream module and
// the version is not here yet. It reports whether it imported it (false,
// nil for local modules: their versions come only from publishing).
func (h *Handler) fill(ctx context.Context, mod, v string) (bool, error) {
	up, err := h.proxied(ctx, mod)
	if err != nil || !up {
		return false, err
	}
	err = h.o.Upstream.Once("go "+mod+"@"+v, func() error {
		if have, err := h.haveVersion(ctx, mod, v); err != nil || have {
			return err
		}
		return h.importVersion(ctx, mod, v)
	})
	return err == nil, err
}

// haveVersion reports whether a release of mod@v exists here, in any
// visible state.
func (h *Handler) haveVersion(ctx context.Context, mod, v string) (bool, error) {
	proj, err := h.o.Registry.Project(ctx, trove.Go, mod)
	if errors.Is(err, trove.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, rel := range proj.Releases {
		if rel.Version == v {
			return true, nil
		}
	}
	return false, nil
}

// importVersion fetches, checks, verifies and records one upstream
// module version.
func (h *Handler) importVersion(ctx context.Context, mod, v string) error {
	if err := CheckVersion(mod, v); err != nil {
		return trove.Error(trove.ErrNotFound, "%s@%s: %v", mod, v, err)
	}
	info, doc, err := h.upstreamInfo(ctx, mod, v)
	if err != nil {
		return err
	}
	uv := upstream.Version{Ecosystem: trove.Go, Name: trove.Name(mod), Version: v, Published: info.Time}
	if err := h.o.Upstream.Check(ctx, uv); err != nil {
		return err
	}
	db := h.sumDBs[doc.Source.Name]
	if db == nil {
		return trove.Error(trove.ErrUpstream, "%s@%s: upstream %s has no checksum database configured (sumdb), so its modules cannot be verified; set one in [[upstream.sources.go]]",
			mod, v, doc.Source.Name)
	}
	files, err := h.fetchFiles(ctx, doc, v)
	if err != nil {
		return err
	}
	defer files.close()
	up, err := checkFetched(module.Version{Path: mod, Version: v}, files.mod, files.zip, info.Time)
	if err != nil {
		return trove.Error(trove.ErrUpstream, "%s@%s from upstream %s is not a valid module version, so it was refused: %w", mod, v, doc.Source.Name, err)
	}
	if err := db.verify(ctx, module.Version{Path: mod, Version: v}, up.Lines); err != nil {
		return err
	}
	up.Files = []registry.UploadFile{
		{Filename: v + ".mod", Kind: "mod", Content: files.modStaged},
		{Filename: v + ".zip", Kind: "zip", Content: files.zip},
	}
	_, err = h.o.Registry.Import(ctx, &registry.Import{Upload: *up, Source: doc.Source.Name, URL: files.zipURL})
	return err
}

// fetchedFiles are a version's .mod and .zip fetched from an upstream.
type fetchedFiles struct {
	mod       []byte
	modStaged *registry.Staged
	zip       *registry.Staged
	zipURL    string
}

func (f *fetchedFiles) close() {
	for _, st := range []*registry.Staged{f.modStaged, f.zip} {
		if st != nil {
			st.Close()
		}
	}
}

// fetchFiles fetches the .mod and .zip of v from the source whose .info
// doc is, next to it.
func (h *Handler) fetchFiles(ctx context.Context, doc *upstream.Doc, v string) (*fetchedFiles, error) {
	f := &fetchedFiles{}
	escV, err := module.EscapeVersion(v)
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "%w", err)
	}
	f.modStaged, err = h.o.Upstream.Fetch(ctx, doc.Source, doc.URL, escV+".mod", MaxModBytes, h.o.Registry)
	if err == nil {
		f.mod, err = readStaged(f.modStaged, MaxModBytes)
	}
	if err == nil {
		f.zipURL = strings.TrimSuffix(doc.URL, escV+".info") + escV + ".zip"
		f.zip, err = h.o.Upstream.Fetch(ctx, doc.Source, doc.URL, escV+".zip", h.o.MaxZipBytes, h.o.Registry)
	}
	if err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// readStaged returns the bytes of a small staged file.
func readStaged(st *registry.Staged, max int64) ([]byte, error) {
	if st.Size() > max {
		return nil, trove.Error(trove.ErrTooLarge, "larger than %d bytes", max)
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(st.Reader())
	return b.Bytes(), err
}

// checkFetched checks a module version fetched from an upstream as an
// upload is checked, and returns it as an Upload with the go.sum lines
// Trove computed and the upstream's time of the version.
func checkFetched(m module.Version, mod []byte, zip *registry.Staged, at time.Time) (*registry.Upload, error) {
	f := &form{module: m.Path, version: m.Version, mod: mod, zip: zip}
	up, err := f.check()
	if err != nil {
		return nil, err
	}
	md, err := json.Marshal(releaseMeta{Module: m.Path, Time: at.UTC()})
	if err != nil {
		return nil, err
	}
	up.Metadata = md
	return up, nil
}

// releaseMeta is a Go release's metadata; Time is the upstream's time of
// an imported version (zero for published ones: their publish time).
type releaseMeta struct {
	Module string    `json:"module"`
	Time   time.Time `json:"time,omitzero"`
}

// HasUpstream reports whether an upstream has the module path name, or
// a module at a path above it (a version in its list, or an @latest):
// publishing name here makes its module tree local, so those would no
// longer be served from the upstream, which the registry refuses unless
// an administrator allows it. False without upstreams.
func (h *Handler) HasUpstream(ctx context.Context, name trove.Name) (bool, error) {
	if h.o.Upstream == nil || !h.o.Upstream.Enabled() {
		return false, nil
	}
	for mod := string(name); ; mod = path.Dir(mod) {
		has, err := h.upstreamHasModule(ctx, mod)
		if err != nil || has {
			return has, err
		}
		if !strings.Contains(mod, "/") {
			return false, nil
		}
	}
}

// upstreamHasModule reports whether an upstream has the module path mod.
func (h *Handler) upstreamHasModule(ctx context.Context, mod string) (bool, error) {
	for _, file := range []string{"@v/list", "@latest"} {
		p, err := upstreamPath(mod, file)
		if err != nil {
			return false, nil
		}
		doc, err := h.o.Upstream.Doc(ctx, mod+"/"+file, p, nil)
		switch {
		case errors.Is(err, trove.ErrNotFound):
			continue
		case err != nil:
			return false, err
		case file == "@latest" || strings.TrimSpace(string(doc.Body)) != "":
			return true, nil
		}
	}
	return false, nil
}
