package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// jsonAPI serves the legacy JSON API (warehouse legacy/api/json.py):
// /pypi/<name>/json describes the project through its latest release,
// /pypi/<name>/<version>/json one release.
func (h *Handler) jsonAPI(w http.ResponseWriter, r *http.Request, req request) error {
	name, err := (Rules{}).ParseName(req.name)
	if err != nil {
		return trove.Error(trove.ErrNotFound, "%w", err)
	}
	variant, key := "json", ""
	if req.ep == epJSONRelease {
		if key, err = (Rules{}).VersionKey(req.version); err != nil {
			return trove.Error(trove.ErrNotFound, "version %q of %s not found: %w", req.version, req.name, err)
		}
		variant = "json@" + key
	}
	// Before the cache: a private project's document is served only to
	// those who may read it; others get the answer of a name never
	// published.
	if err := h.o.Registry.CanRead(r.Context(), trove.PyPI, name); err != nil {
		return err
	}
	p, err := h.o.Pages.Get(page.Key{Group: string(trove.PyPI), Name: string(name), Variant: variant}, func() (*page.Page, error) {
		proj, err := h.o.Registry.Project(context.WithoutCancel(r.Context()), trove.PyPI, string(name))
		if err != nil {
			return nil, err
		}
		body, err := h.renderJSON(proj, key, req.version)
		if err != nil {
			return nil, err
		}
		return page.New(body, "application/json"), nil
	})
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// A jsonFile is a file in the JSON API.
type jsonFile struct {
	CommentText       string            `json:"comment_text"`
	CoreMetadata      any               `json:"core-metadata"`
	Digests           map[string]string `json:"digests"`
	Downloads         int               `json:"downloads"`
	Filename          string            `json:"filename"`
	HasSig            bool              `json:"has_sig"`
	MD5Digest         string            `json:"md5_digest"`
	PackageType       string            `json:"packagetype"`
	PythonVersion     string            `json:"python_version"`
	RequiresPython    *string           `json:"requires_python"`
	Size              int64             `json:"size"`
	UploadTime        string            `json:"upload_time"`
	UploadTimeISO8601 string            `json:"upload_time_iso_8601"`
	URL               string            `json:"url"`
	Yanked            bool              `json:"yanked"`
	YankedReason      *string           `json:"yanked_reason"`
}

// jsonInfo is the "info" object, from one release's metadata.
type jsonInfo struct {
	Author                 *string        `json:"author"`
	AuthorEmail            *string        `json:"author_email"`
	BugtrackURL            *string        `json:"bugtrack_url"`
	Classifiers            []string       `json:"classifiers"`
	Description            string         `json:"description"`
	DescriptionContentType *string        `json:"description_content_type"`
	DocsURL                *string        `json:"docs_url"`
	DownloadURL            *string        `json:"download_url"`
	Downloads              map[string]int `json:"downloads"`
	Dynamic                []string       `json:"dynamic"`
	HomePage               *string        `json:"home_page"`
	Keywords               *string        `json:"keywords"`
	License                *string        `json:"license"`
	LicenseExpression      *string        `json:"license_expression"`
	LicenseFiles           []string       `json:"license_files"`
	Maintainer             *string        `json:"maintainer"`
	MaintainerEmail        *string        `json:"maintainer_email"`
	Name                   string         `json:"name"`
	PackageURL             string         `json:"package_url"`
	Platform               *string        `json:"platform"`
	ProjectURL             string         `json:"project_url"`
	ProjectURLs            orderedObject  `json:"project_urls"`
	ProvidesExtra          []string       `json:"provides_extra"`
	ReleaseURL             string         `json:"release_url"`
	RequiresDist           []string       `json:"requires_dist"`
	RequiresPython         *string        `json:"requires_python"`
	Summary                *string        `json:"summary"`
	Version                string         `json:"version"`
	Yanked                 bool           `json:"yanked"`
	YankedReason           *string        `json:"yanked_reason"`
}

// renderJSON renders the project document (key "") or that of the
// release with the version key (asked for as version).
func (h *Handler) renderJSON(p *registry.Project, key, version string) ([]byte, error) {
	rels := sortedReleases(p)
	files := h.views(p, rels)
	var rel *trove.Release
	if key == "" {
		rel = latest(rels)
	} else {
		for _, r := range rels {
			if r.VersionKey == key {
				rel = r
			}
		}
		if rel == nil {
			return nil, trove.Error(trove.ErrNotFound, "version %s of %s not found", version, p.Package.DisplayName)
		}
	}
	var urls []jsonFile
	byRelease := make(map[int64][]jsonFile)
	for _, v := range files {
		jf := h.jsonFile(v)
		byRelease[v.ReleaseID] = append(byRelease[v.ReleaseID], jf)
		if v.ReleaseID == rel.ID {
			urls = append(urls, jf)
		}
	}
	doc := orderedObject{
		{"info", h.info(p, rel)},
		{"last_serial", p.Package.LastSerial},
	}
	if key == "" {
		releases := make(orderedObject, 0, len(rels))
		for _, r := range rels {
			fs := byRelease[r.ID]
			if fs == nil {
				fs = []jsonFile{}
			}
			releases = append(releases, field{r.Version, fs})
		}
		doc = append(doc, field{"releases", releases})
	}
	if urls == nil {
		urls = []jsonFile{}
	}
	roles := make([]map[string]string, 0, len(p.Owners))
	for _, o := range p.Owners {
		roles = append(roles, map[string]string{"role": "Owner", "user": o.Name})
	}
	doc = append(doc,
		field{"urls", urls},
		field{"vulnerabilities", []any{}}, // TODO(issue: advisories): OSV advisories
		field{"ownership", map[string]any{"organization": nil, "roles": roles}},
	)
	return marshal(doc), nil
}

// latest returns the release the project document describes: the latest
// non-yanked final release, else the latest non-yanked one, else the
// latest (rels are in PEP 440 order).
func latest(rels []*trove.Release) *trove.Release {
	var nonYanked *trove.Release
	for i := len(rels) - 1; i >= 0; i-- {
		r := rels[i]
		if r.State == trove.Yanked {
			continue
		}
		if v, err := ParseVersion(r.Version); err == nil && !v.IsPreRelease() {
			return r
		}
		if nonYanked == nil {
			nonYanked = r
		}
	}
	if nonYanked != nil {
		return nonYanked
	}
	return rels[len(rels)-1]
}

func (h *Handler) jsonFile(v fileView) jsonFile {
	t := v.CreatedAt.UTC()
	f := jsonFile{
		CoreMetadata: v.CoreMetadata(),
		Digests:      map[string]string{"md5": v.MD5, "sha256": v.SHA256, "blake2b_256": v.Blake2b256},
		Downloads:    -1,
		Filename:     v.Filename,
		MD5Digest:    v.MD5,
		PackageType:  v.Attrs.PackageType,
		// Warehouse's formats: Python's strftime and isoformat() + "Z".
		PythonVersion:     v.Attrs.PythonVersion,
		RequiresPython:    opt(v.Attrs.RequiresPython),
		Size:              v.Size,
		UploadTime:        t.Format("2006-01-02T15:04:05"),
		UploadTimeISO8601: isoformat(t),
		URL:               v.URL,
		Yanked:            v.Release.State == trove.Yanked,
	}
	if f.Yanked {
		f.YankedReason = opt(v.Release.YankedReason)
	}
	return f
}

// isoformat formats t as Python's datetime.isoformat() + "Z" does.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func (h *Handler) info(p *registry.Project, rel *trove.Release) jsonInfo {
	var m releaseMetadata
	json.Unmarshal(rel.Metadata, &m)
	name := p.Package.DisplayName
	base := h.o.BaseURL
	in := jsonInfo{
		Author:                 opt(m.Author),
		AuthorEmail:            opt(m.AuthorEmail),
		Classifiers:            nonNil(m.Classifiers),
		Description:            m.Description,
		DescriptionContentType: opt(m.DescriptionContentType),
		DownloadURL:            opt(m.DownloadURL),
		Downloads:              map[string]int{"last_day": -1, "last_month": -1, "last_week": -1},
		Dynamic:                m.Dynamic,
		HomePage:               opt(m.HomePage),
		Keywords:               opt(m.Keywords),
		License:                opt(m.License),
		LicenseExpression:      opt(m.LicenseExpression),
		LicenseFiles:           m.LicenseFiles,
		Maintainer:             opt(m.Maintainer),
		MaintainerEmail:        opt(m.MaintainerEmail),
		Name:                   name,
		PackageURL:             base + "/simple/" + string(p.Package.Name) + "/",
		Platform:               opt(strings.Join(m.Platforms, ", ")),
		ProjectURL:             base + "/simple/" + string(p.Package.Name) + "/",
		ProvidesExtra:          m.ProvidesExtra,
		ReleaseURL:             base + "/pypi/" + string(p.Package.Name) + "/" + url.PathEscape(rel.Version) + "/json",
		RequiresDist:           m.RequiresDist,
		RequiresPython:         opt(m.RequiresPython),
		Summary:                opt(m.Summary),
		Version:                rel.Version,
		Yanked:                 rel.State == trove.Yanked,
	}
	if in.Yanked {
		in.YankedReason = opt(rel.YankedReason)
	}
	// Warehouse's project_urls: Homepage and Download first, then every
	// "Label, URL" of Project-URL.
	var urls orderedObject
	seen := make(map[string]bool)
	add := func(label, u string) {
		if label != "" && u != "" && !seen[label] {
			seen[label] = true
			urls = append(urls, field{label, u})
		}
	}
	add("Homepage", m.HomePage)
	add("Download", m.DownloadURL)
	for _, pu := range m.ProjectURLs {
		label, u, _ := strings.Cut(pu, ",")
		add(strings.TrimSpace(label), strings.TrimSpace(u))
	}
	in.ProjectURLs = urls
	return in
}

// opt returns nil for "", so that absent fields are JSON null as in warehouse.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// A field is a key and value of an orderedObject.
type field struct {
	k string
	v any
}

// An orderedObject is a JSON object whose keys keep their order; nil is null.
type orderedObject []field

// MarshalJSON implements json.Marshaler.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(bytes.TrimSuffix(marshal(f.k), []byte("\n")))
		b.WriteByte(':')
		b.Write(bytes.TrimSuffix(marshal(f.v), []byte("\n")))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
