package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/readme"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// packageView is what the body of a package page shows.
type packageView struct {
	Ecosystem   trove.Ecosystem
	Name        string // display name
	URL         string // the package's page
	Description string
	Keywords    []string
	Upstream    bool
	Private     bool   // read only by those holding a role on it
	Source      string // the upstream of the shown release
	Release     *releaseView
	Releases    []*releaseView
	Owners      []registry.Owner
	Org         string // the organisation the package belongs to, if any
	Dependents  []dependentView
	Install     []installCommand
	Readme      template.HTML
	ReadmeNote  string // why there is no README shown
	// Scan is the public summary of the shown release's scans (SCVS-4.17).
	Scan *registry.ScanSummary
}

type releaseView struct {
	Version      string
	URL          string
	State        trove.State
	YankedReason string
	Deprecated   string
	PublishedAt  time.Time
	DeletedAt    time.Time
	// PublishedWith is how the publisher had authenticated (the level of
	// the token that published it, SCVS-4.5); AuthNone for releases
	// published before levels were recorded, and for upstream imports.
	PublishedWith trove.AuthLevel
	Latest        bool
	Files         []fileView
	Dependencies  []dependencyView
	Log           []logView
	LogURL        string // the log's lookup of this version
}

type fileView struct {
	Filename   string
	Size       string
	UploadedAt time.Time
	Digests    []digest
}

type digest struct{ Algorithm, Value string }

type dependencyView struct {
	Name, Constraint, URL string
}

type dependentView struct {
	Name, Constraint, URL string
}

type logView struct {
	Index int64
	Kind  string
}

type installCommand struct{ Client, Command string }

// packageView builds the view of a package at version ("" for its latest).
func (h *Handler) packageView(v *registry.View, version string) (*packageView, error) {
	pkg := v.Package
	pv := &packageView{Ecosystem: pkg.Ecosystem, Name: pkg.DisplayName, URL: packageURL(pkg.Ecosystem, pkg.DisplayName, ""),
		Upstream: pkg.Upstream, Private: pkg.Private, Owners: v.Owners, Org: v.Org}
	latest := v.Latest()
	shown := latest
	if version != "" {
		shown = nil
		key, err := h.o.Registry.Rules(pkg.Ecosystem).VersionKey(version)
		for _, r := range v.Releases {
			if err == nil && r.VersionKey == key {
				shown = r
			}
		}
		if shown == nil {
			return nil, trove.Error(trove.ErrNotFound, "%s has no version %s", pkg.DisplayName, clip(version))
		}
	}
	for _, r := range v.Releases {
		rv := h.releaseView(pkg, r, r == latest)
		pv.Releases = append(pv.Releases, rv)
		if r == shown {
			pv.Release = rv
		}
	}
	for _, d := range v.Dependents {
		pv.Dependents = append(pv.Dependents, dependentView{Name: d.DisplayName, Constraint: d.Constraint,
			URL: packageURL(pkg.Ecosystem, d.DisplayName, "")})
	}
	pv.Source = shown.Source
	if shown.State.Visible() {
		a := aboutOf(shown.Metadata)
		pv.Description, pv.Keywords = a.Description, a.Keywords
		pv.Readme, pv.ReadmeNote = renderReadme(a)
		pv.Install = h.install(pkg.Ecosystem, pkg.DisplayName, shown.Version)
	} else if shown.State == trove.Suspended {
		pv.ReadmeNote = "This version is quarantined: its README is not shown while the administrators look into it."
	} else {
		pv.ReadmeNote = "This version was deleted: its README and files are no longer shown."
	}
	return pv, nil
}

func (h *Handler) releaseView(pkg *trove.Package, r *registry.ReleaseView, latest bool) *releaseView {
	rv := &releaseView{Version: r.Version, URL: packageURL(pkg.Ecosystem, pkg.DisplayName, r.Version), State: r.State,
		YankedReason: r.YankedReason, Deprecated: r.Deprecated, PublishedAt: r.PublishedAt, DeletedAt: r.DeletedAt,
		PublishedWith: r.AuthLevel, Latest: latest,
		LogURL: "/log/lookup/" + url.PathEscape(string(pkg.Ecosystem)) + "/" + url.PathEscape(string(pkg.Name)) + "/" + url.PathEscape(r.Version)}
	for _, f := range r.Files {
		fv := fileView{Filename: f.Filename, Size: size(f.Size), UploadedAt: f.CreatedAt}
		for _, d := range []digest{{"sha256", f.SHA256}, {"sha512", f.SHA512}, {"blake2b-256", f.Blake2b256}, {"sha1", f.SHA1}, {"md5", f.MD5}} {
			if d.Value != "" {
				fv.Digests = append(fv.Digests, d)
			}
		}
		rv.Files = append(rv.Files, fv)
	}
	for _, d := range r.Dependencies {
		rv.Dependencies = append(rv.Dependencies, dependencyView{Name: string(d.Name), Constraint: d.Constraint,
			URL: packageURL(d.Ecosystem, string(d.Name), "")})
	}
	for _, e := range r.Log {
		rv.Log = append(rv.Log, logView{Index: e.ID, Kind: e.Kind})
	}
	return rv
}

// install returns the commands that install a version with each client,
// from this server.
func (h *Handler) install(eco trove.Ecosystem, name, version string) []installCommand {
	prefix, ok := h.o.Ecosystems[string(eco)]
	if !ok {
		return nil
	}
	base := h.o.BaseURL + prefix
	switch eco {
	case trove.NPM:
		return []installCommand{{"npm", "npm install " + name + "@" + version + " --registry " + base + "/"}}
	case trove.PyPI:
		return []installCommand{{"pip", "pip install '" + name + "==" + version + "' --index-url " + base + "/simple/"}}
	case trove.Go:
		return []installCommand{{"go", "GOPROXY=" + base + " go get " + name + "@" + version}}
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// about is what a page shows from a release's metadata.
type about struct {
	Description string
	Keywords    []string
	Readme      []byte
	Format      readme.Format
}

// aboutOf reads a release's metadata, whose JSON its adapter owns. Two
// shapes carry a README: npm's manifests (description, keywords as a
// list, readme and readmeFilename) and PyPI's core metadata as the JSON
// API names it (summary, keywords as a string, description and
// description_content_type). Go modules' metadata has neither.
func aboutOf(md []byte) about {
	var m struct {
		Description     string          `json:"description"`
		Summary         *string         `json:"summary"`
		Keywords        json.RawMessage `json:"keywords"`
		Readme          string          `json:"readme"`
		ReadmeFilename  string          `json:"readmeFilename"`
		ContentType     string          `json:"description_content_type"`
		MetadataVersion string          `json:"metadata_version"`
	}
	if json.Unmarshal(md, &m) != nil {
		return about{}
	}
	var a about
	if m.Summary != nil || m.MetadataVersion != "" { // PyPI
		if m.Summary != nil {
			a.Description = *m.Summary
		}
		a.Readme, a.Format = []byte(m.Description), readme.FormatOf(m.ContentType, "")
		if m.ContentType == "" {
			a.Format = readme.Plain // PyPI's default is reStructuredText
		}
	} else {
		a.Description = m.Description
		a.Readme, a.Format = []byte(m.Readme), readme.FormatOf("", m.ReadmeFilename)
		if m.ReadmeFilename == "" && m.Readme != "" {
			a.Format = readme.Markdown
		}
	}
	a.Keywords = keywords(m.Keywords)
	return a
}

// keywords reads keywords as a JSON list or a string separated by commas
// (or spaces, when it has no comma), at most 20 of them.
func keywords(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		if strings.Contains(s, ",") {
			list = strings.Split(s, ",")
		} else {
			list = strings.Fields(s)
		}
	}
	var out []string
	for _, k := range list {
		if k = strings.TrimSpace(k); k != "" && len(out) < 20 {
			out = append(out, clip(k))
		}
	}
	return out
}

// renderReadme renders a README, or says why it cannot be shown.
func renderReadme(a about) (template.HTML, string) {
	if len(strings.TrimSpace(string(a.Readme))) == 0 {
		return "", "This release has no README."
	}
	out, err := readme.RenderAs(a.Format, a.Readme, "")
	if errors.Is(err, readme.ErrTooLarge) {
		return "", fmt.Sprintf("The README is too large to show here (%s).", err)
	}
	if err != nil {
		return "", "The README could not be rendered."
	}
	return out, ""
}
