package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// apiVersion is the simple repository API version served: PEP 691 JSON
// with PEP 700's versions, size and upload-time.
const apiVersion = "1.1"

// A format is a representation of a simple API page (PEP 691).
type format int

const (
	fmtHTML   format = iota // text/html, the default
	fmtV1HTML               // application/vnd.pypi.simple.v1+html
	fmtV1JSON               // application/vnd.pypi.simple.v1+json
)

// formats lists, in the server's order of preference for ties (that of
// warehouse), each format's Content-Type, cache variant and the media
// types that select it. "latest" is answered with the concrete v1 type.
var formats = []struct {
	contentType string
	variant     string
	names       []string
}{
	fmtHTML:   {"text/html; charset=utf-8", "html", []string{"text/html"}},
	fmtV1HTML: {"application/vnd.pypi.simple.v1+html", "v1html", []string{"application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html"}},
	fmtV1JSON: {"application/vnd.pypi.simple.v1+json", "v1json", []string{"application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.latest+json"}},
}

// negotiate chooses a format for an Accept header (RFC 9110 §12.5.1):
// the one with the highest q-value, the q-value of a type being that of
// the most specific range matching it; ties go to the earlier format. No
// header, or nothing acceptable, gets HTML, as from warehouse.
func negotiate(accept string) format {
	if strings.TrimSpace(accept) == "" {
		return fmtHTML
	}
	type mediaRange struct {
		typ, sub string
		q        float64
	}
	var ranges []mediaRange
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		ranges = append(ranges, mediaRange{typ, sub, q})
	}
	best, bestQ := fmtHTML, 0.0
	for f, fm := range formats {
		q, spec := 0.0, 0
		for _, name := range fm.names {
			typ, sub, _ := strings.Cut(name, "/")
			for _, r := range ranges {
				s := 0
				switch {
				case r.typ == typ && r.sub == sub:
					s = 3
				case r.typ == typ && r.sub == "*":
					s = 2
				case r.typ == "*" && r.sub == "*":
					s = 1
				}
				if s > spec || s == spec && s > 0 && r.q > q {
					q, spec = r.q, s
				}
			}
		}
		if q > bestQ {
			best, bestQ = format(f), q
		}
	}
	return best
}

// index serves the project list: public projects only (registry.Packages),
// the same page for everyone; private projects are found by name only.
func (h *Handler) index(w http.ResponseWriter, r *http.Request, _ request) error {
	f := negotiate(r.Header.Get("Accept"))
	p, err := h.o.Pages.Get(page.Key{Group: string(trove.PyPI), Variant: "index-" + formats[f].variant}, func() (*page.Page, error) {
		pkgs, err := h.o.Registry.Packages(context.WithoutCancel(r.Context()), trove.PyPI)
		if err != nil {
			return nil, err
		}
		return h.renderIndex(pkgs, f), nil
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// project serves a project's page: a local project's from its releases, a
// proxied one's from its upstream.
//
// A private project the request may not read answers, before any cache
// or upstream is asked, exactly as a name never published does without
// upstreams: it is local, so never fetched from an upstream.
func (h *Handler) project(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Registry.CanRead(r.Context(), trove.PyPI, trove.Name(req.name)); err != nil {
		return err
	}
	proxied, err := h.proxies(r.Context(), req.name)
	if err != nil {
		return err
	}
	if proxied {
		return h.proxyProject(w, r, req.name)
	}
	if h.upstreamEnabled() {
		h.memo.setBlocked(req.name, nil) // a local project's files are never curated
	}
	return h.localProject(w, r, req.name, negotiate(r.Header.Get("Accept")))
}

func (h *Handler) renderIndex(pkgs []*trove.Package, f format) *page.Page {
	var body []byte
	if f == fmtV1JSON {
		type project struct {
			Name string `json:"name"`
		}
		doc := struct {
			Meta     map[string]any `json:"meta"`
			Projects []project      `json:"projects"`
		}{Meta: map[string]any{"api-version": apiVersion}, Projects: make([]project, 0, len(pkgs))}
		for _, p := range pkgs {
			doc.Projects = append(doc.Projects, project{p.DisplayName})
		}
		body = marshal(doc)
	} else {
		var b strings.Builder
		b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + apiVersion + "\">\n")
		b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
		for _, p := range pkgs {
			b.WriteString(`    <a href="` + html.EscapeString(h.o.BaseURL+"/simple/"+string(p.Name)+"/") + `">` + html.EscapeString(p.DisplayName) + "</a><br />\n")
		}
		b.WriteString("  </body>\n</html>\n")
		body = []byte(b.String())
	}
	pg := page.New(body, formats[f].contentType)
	pg.Vary = "Accept"
	return pg
}

// A fileView is a file of a project as the read endpoints show it.
type fileView struct {
	*trove.File
	Release *trove.Release
	Attrs   fileAttrs
	URL     string
}

// CoreMetadata returns the PEP 714 core-metadata value: its hashes, or false.
func (v fileView) CoreMetadata() any {
	if v.MetadataSHA256 == "" {
		return false
	}
	return map[string]string{"sha256": v.MetadataSHA256}
}

// fileURL returns the URL of a file.
func (h *Handler) fileURL(f *trove.File) string {
	return h.o.BaseURL + "/packages/" + f.SHA256 + "/" + url.PathEscape(f.Filename)
}

// sortedReleases returns the project's releases in PEP 440 order.
func sortedReleases(p *registry.Project) []*trove.Release {
	type keyed struct {
		v   pep440.Version
		ok  bool
		rel *trove.Release
	}
	ks := make([]keyed, len(p.Releases))
	for i, r := range p.Releases {
		v, err := ParseVersion(r.Version)
		ks[i] = keyed{v, err == nil, r}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if a.ok && b.ok {
			return a.v.Compare(b.v)
		}
		return strings.Compare(a.rel.Version, b.rel.Version)
	})
	out := make([]*trove.Release, len(ks))
	for i, k := range ks {
		out[i] = k.rel
	}
	return out
}

// views returns the project's files ordered by version, then filename.
func (h *Handler) views(p *registry.Project, rels []*trove.Release) []fileView {
	order := make(map[int64]int, len(rels))
	byID := make(map[int64]*trove.Release, len(rels))
	for i, r := range rels {
		order[r.ID], byID[r.ID] = i, r
	}
	out := make([]fileView, 0, len(p.Files))
	for _, f := range p.Files {
		rel := byID[f.ReleaseID]
		if rel == nil {
			continue
		}
		v := fileView{File: f, Release: rel, URL: h.fileURL(f)}
		json.Unmarshal(f.Attrs, &v.Attrs)
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b fileView) int {
		if d := order[a.ReleaseID] - order[b.ReleaseID]; d != 0 {
			return d
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	return out
}

// uploadTime formats a time as PEP 700 asks.
func uploadTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (h *Handler) renderProject(p *registry.Project, f format) *page.Page {
	rels := sortedReleases(p)
	views := h.views(p, rels)
	versions := make([]string, 0, len(rels))
	for _, r := range rels {
		versions = append(versions, r.Version)
	}
	files := make([]listing, 0, len(views))
	for _, v := range views {
		files = append(files, v.listing())
	}
	return renderListing(string(p.Package.Name), versions, files, p.Package.LastSerial, f)
}

// A listing is a file as a simple page shows it, whether Trove holds the
// file or an upstream lists it.
type listing struct {
	Filename, URL, SHA256, RequiresPython string
	Size                                  int64     // -1 when unknown
	UploadTime                            time.Time // zero when unknown
	Yanked                                bool
	YankedReason                          string
	MetadataSHA256                        string // "" when no core metadata file is offered
}

// listing returns the file as a simple page shows it.
func (v fileView) listing() listing {
	return listing{Filename: v.Filename, URL: v.URL, SHA256: v.SHA256, RequiresPython: v.Attrs.RequiresPython,
		Size: v.Size, UploadTime: v.CreatedAt, Yanked: v.Release.State == trove.Yanked, YankedReason: v.Release.YankedReason,
		MetadataSHA256: v.MetadataSHA256}
}

// yanked returns the file's PEP 592 state: false, true or the reason.
func (l listing) yanked() any {
	switch {
	case !l.Yanked:
		return false
	case l.YankedReason == "":
		return true
	}
	return l.YankedReason
}

// coreMetadata returns the PEP 714 core-metadata value: its hashes, or false.
func (l listing) coreMetadata() any {
	if l.MetadataSHA256 == "" {
		return false
	}
	return map[string]string{"sha256": l.MetadataSHA256}
}

// renderListing renders a project page: versions in order and files in
// order. A serial below zero (a proxied page) is left out.
func renderListing(name string, versions []string, files []listing, serial int64, f format) *page.Page {
	var body []byte
	if f == fmtV1JSON {
		body = listingJSON(name, versions, files, serial)
	} else {
		body = listingHTML(name, files, serial)
	}
	pg := page.New(body, formats[f].contentType)
	pg.Vary = "Accept"
	return pg
}

func listingJSON(name string, versions []string, files []listing, serial int64) []byte {
	type file struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython string            `json:"requires-python,omitempty"`
		Size           *int64            `json:"size,omitempty"`
		UploadTime     string            `json:"upload-time,omitempty"`
		Yanked         any               `json:"yanked"`
		CoreMetadata   any               `json:"core-metadata"`
	}
	doc := struct {
		Meta     map[string]any `json:"meta"`
		Name     string         `json:"name"`
		Versions []string       `json:"versions"`
		Files    []file         `json:"files"`
	}{
		Meta:     map[string]any{"api-version": apiVersion},
		Name:     name,
		Versions: versions,
		Files:    make([]file, 0, len(files)),
	}
	if serial >= 0 {
		doc.Meta["_last-serial"] = serial
	}
	for _, l := range files {
		jf := file{
			Filename: l.Filename, URL: l.URL, Hashes: map[string]string{"sha256": l.SHA256},
			RequiresPython: l.RequiresPython, Yanked: l.yanked(), CoreMetadata: l.coreMetadata(),
		}
		if l.Size >= 0 {
			jf.Size = &l.Size
		}
		if !l.UploadTime.IsZero() {
			jf.UploadTime = uploadTime(l.UploadTime)
		}
		doc.Files = append(doc.Files, jf)
	}
	return marshal(doc)
}

func listingHTML(name string, files []listing, serial int64) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + apiVersion + "\">\n")
	b.WriteString("    <title>Links for " + html.EscapeString(name) + "</title>\n  </head>\n  <body>\n")
	b.WriteString("    <h1>Links for " + html.EscapeString(name) + "</h1>\n")
	for _, l := range files {
		b.WriteString(`    <a href="` + html.EscapeString(l.URL+"#sha256="+l.SHA256) + `"`)
		if l.RequiresPython != "" {
			b.WriteString(` data-requires-python="` + html.EscapeString(l.RequiresPython) + `"`)
		}
		if l.Yanked {
			// Always with a value: pip reads a bare attribute as "not yanked".
			b.WriteString(` data-yanked="` + html.EscapeString(l.YankedReason) + `"`)
		}
		if l.MetadataSHA256 != "" {
			b.WriteString(` data-dist-info-metadata="sha256=` + l.MetadataSHA256 + `" data-core-metadata="sha256=` + l.MetadataSHA256 + `"`)
		}
		b.WriteString(">" + html.EscapeString(l.Filename) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	if serial >= 0 {
		b.WriteString("<!--SERIAL " + strconv.FormatInt(serial, 10) + "-->\n")
	}
	return []byte(b.String())
}

// marshal encodes v as JSON without HTML escaping (these documents are
// never embedded in HTML), ending with a newline.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("pypi: encoding a document: " + err.Error()) // only plain data is encoded
	}
	return b.Bytes()
}
