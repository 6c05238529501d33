package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Content types of packuments.
const (
	typeJSON        = "application/json"
	typeAbbreviated = "application/vnd.npm.install-v1+json"
)

// Variants of the cached documents of a package.
const (
	variantFull        = "full"
	variantAbbreviated = "abbreviated"
	variantDistTags    = "dist-tags"
	variantSearch      = "search"
)

// abbreviatedFields are the version fields of an abbreviated packument
// ("corgi"): what npm needs to resolve and install.
var abbreviatedFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
	"peerDependencies", "peerDependenciesMeta", "bundleDependencies", "acceptDependencies", "bin",
	"directories", "engines", "os", "cpu", "libc", "funding", "dist", "_hasShrinkwrap", "hasInstallScript",
}

// topLevelFields are copied from the latest version to the top of a full packument.
var topLevelFields = []string{"description", "license", "homepage", "repository", "bugs", "keywords", "author", "readme", "readmeFilename"}

// packument serves GET /E.
func (h *Handler) packument(w http.ResponseWriter, r *http.Request, req request) error {
	variant := variantFull
	if r.URL.Query().Get("write") != "true" && strings.Contains(strings.ToLower(r.Header.Get("Accept")), typeAbbreviated) {
		variant = variantAbbreviated
	}
	return h.serveVariant(w, r, req.name, variant)
}

// distTags serves GET /-/package/E/dist-tags.
func (h *Handler) distTags(w http.ResponseWriter, r *http.Request, req request) error {
	return h.serveVariant(w, r, req.name, variantDistTags)
}

// serveVariant serves a document of a package: a local one's, or an
// upstream one's when the name is not local (see proxy.go).
func (h *Handler) serveVariant(w http.ResponseWriter, r *http.Request, name trove.Name, variant string) error {
	st, err := h.upstreamState(r.Context(), name)
	if err != nil {
		return err
	}
	if st != nil {
		return h.serveProxied(w, r, name, variant, st)
	}
	p, err := h.page(r.Context(), name, variant)
	if err != nil {
		return err
	}
	page.Serve(w, r, p)
	return nil
}

// page returns a cached document of a package, rendering it on a miss
// from one snapshot of the package. A hit does no SQL and no encoding.
//
// The cache is shared by every reader, so the request is checked before
// it: a private package the request may not read is the ErrNotFound of a
// name never published (registry.Service.CanRead), whoever rendered the
// page. For a public package the check costs a map lookup.
func (h *Handler) page(ctx context.Context, name trove.Name, variant string) (*page.Page, error) {
	if err := h.o.Registry.CanRead(ctx, trove.NPM, name); err != nil {
		return nil, err
	}
	return h.o.Pages.Get(page.Key{Group: string(trove.NPM), Name: string(name), Variant: variant}, func() (*page.Page, error) {
		// Other requests may wait on this render: a client going away
		// must not fail it for them.
		proj, err := h.o.Registry.Project(context.WithoutCancel(ctx), trove.NPM, string(name))
		if err != nil {
			return nil, err
		}
		return h.render(proj, variant)
	})
}

// render renders one variant of a package's documents.
func (h *Handler) render(proj *registry.Project, variant string) (*page.Page, error) {
	pk, err := h.newPackument(proj)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", proj.Package.Name, err)
	}
	var body any
	contentType := typeJSON
	switch variant {
	case variantFull:
	case variantAbbreviated:
		body, contentType = pk.abbreviated(), typeAbbreviated
	case variantDistTags:
		body = pk.tags
	case variantSearch:
		body = pk.searchEntry()
	default:
		return nil, fmt.Errorf("unknown packument variant %q", variant)
	}
	var b []byte
	if variant == variantFull {
		b = pk.fullJSON()
	} else if b, err = json.Marshal(body); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", proj.Package.Name, err)
	}
	p := page.New(b, contentType)
	p.LastModified = pk.modified
	if variant == variantFull || variant == variantAbbreviated {
		p.Vary = "Accept"
	}
	return p, nil
}

// A packument is a package's versions, prepared for rendering.
type packument struct {
	proj     *registry.Project
	name     string
	rev      string
	tags     map[string]string
	latest   string
	versions map[string]map[string]json.RawMessage // served version documents
	times    map[string]string
	modified time.Time
	// emails holds the addresses that may be shown, by user name: those of
	// owners who made theirs public.
	emails map[string]string
}

func (h *Handler) newPackument(proj *registry.Project) (*packument, error) {
	pk := &packument{
		proj:     proj,
		name:     string(proj.Package.Name),
		rev:      revision(proj.Package),
		versions: make(map[string]map[string]json.RawMessage, len(proj.Releases)),
		times:    make(map[string]string, len(proj.Releases)+2),
		emails:   make(map[string]string),
	}
	for _, u := range proj.Owners {
		if u.PublicEmail {
			pk.emails[u.Name] = u.Email
		}
	}
	visible := make(map[int64]*trove.Release, len(proj.Releases))
	for _, rel := range proj.Releases {
		v, err := h.versionDoc(proj, rel, pk.emails)
		if err != nil {
			return nil, err
		}
		pk.versions[rel.Version] = v
		pk.times[rel.Version] = formatTime(rel.PublishedAt)
		if rel.PublishedAt.After(pk.modified) {
			pk.modified = rel.PublishedAt
		}
		visible[rel.ID] = rel
	}
	pk.tags = make(map[string]string, len(proj.Tags)+1)
	for _, t := range proj.Tags {
		if rel := visible[t.ReleaseID]; rel != nil {
			pk.tags[t.Tag] = rel.Version
		}
	}
	// latest never points at a yanked version (the registry moves the tag
	// when one is yanked); without a tag it is computed.
	if v, ok := pk.tags[registry.LatestTag]; !ok || pk.yanked(v) {
		delete(pk.tags, registry.LatestTag)
		if v := computeLatest(proj.Releases); v != "" {
			pk.tags[registry.LatestTag] = v
		}
	}
	pk.latest = pk.tags[registry.LatestTag]
	pk.times["created"] = formatTime(proj.Package.CreatedAt)
	pk.times["modified"] = formatTime(pk.modified)
	return pk, nil
}

// computeLatest picks the version "latest" points at when no tag says:
// Rules.Latest of the releases that are not yanked; "" if all are.
func computeLatest(rels []*trove.Release) string {
	var versions []string
	for _, r := range rels {
		if r.State == trove.Published {
			versions = append(versions, r.Version)
		}
	}
	return Rules{}.Latest(versions)
}

// yanked reports whether the version is of a yanked release.
func (pk *packument) yanked(version string) bool {
	for _, r := range pk.proj.Releases {
		if r.Version == version {
			return r.State == trove.Yanked
		}
	}
	return false
}

// versionDoc returns the served document of a version: its stored
// manifest with the tarball URL and deprecation added, without the readme
// (which only the top of the full packument carries), and with its
// publisher and maintainers by name, with an address only from emails.
func (h *Handler) versionDoc(proj *registry.Project, rel *trove.Release, emails map[string]string) (map[string]json.RawMessage, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rel.Metadata, &doc); err != nil {
		return nil, fmt.Errorf("version %s: stored manifest: %w", rel.Version, err)
	}
	delete(doc, "readme")
	delete(doc, "readmeFilename")
	// Manifests stored before addresses became private carry the
	// publisher's: the registry's people fields are rebuilt from names.
	var npmUser person
	if json.Unmarshal(doc["_npmUser"], &npmUser) == nil && npmUser.Name != "" {
		doc["_npmUser"] = mustJSON(shown(npmUser.Name, emails))
	} else {
		delete(doc, "_npmUser")
	}
	var maintainers []person
	if json.Unmarshal(doc["maintainers"], &maintainers) == nil && len(maintainers) > 0 {
		out := make([]person, 0, len(maintainers))
		for _, m := range maintainers {
			if m.Name != "" {
				out = append(out, shown(m.Name, emails))
			}
		}
		doc["maintainers"] = mustJSON(out)
	} else {
		delete(doc, "maintainers")
	}
	var dist map[string]json.RawMessage
	if d, ok := doc["dist"]; ok {
		if err := json.Unmarshal(d, &dist); err != nil {
			return nil, fmt.Errorf("version %s: stored dist: %w", rel.Version, err)
		}
	}
	if dist == nil {
		dist = make(map[string]json.RawMessage)
	}
	files := proj.FilesOf(rel.ID)
	if len(files) == 0 {
		return nil, fmt.Errorf("version %s has no tarball", rel.Version)
	}
	dist["tarball"] = mustJSON(h.tarballURL(trove.Name(proj.Package.Name), files[0].Filename))
	doc["dist"] = mustJSON(dist)
	switch {
	case rel.Deprecated != "":
		doc["deprecated"] = mustJSON(rel.Deprecated)
	case rel.State == trove.Yanked && rel.YankedReason != "":
		doc["deprecated"] = mustJSON("this version was yanked: " + rel.YankedReason)
	case rel.State == trove.Yanked:
		doc["deprecated"] = mustJSON("this version was yanked")
	default:
		delete(doc, "deprecated")
	}
	return doc, nil
}

// tarballURL is where a tarball is served: npm's conventional
// BASE/@scope/name/-/name-1.0.0.tgz.
func (h *Handler) tarballURL(name trove.Name, filename string) string {
	return h.o.BaseURL + "/" + string(name) + "/-/" + filename
}

// A person is a user as npm metadata names them. Email is set only for
// users who made their address public.
type person struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// shown returns the user as public metadata may show them: the name, and
// the address only if emails holds it.
func shown(name string, emails map[string]string) person {
	return person{Name: name, Email: emails[name]}
}

// fullJSON encodes the full packument: every version document, the time
// of each publish, the maintainers, and, from the latest version, the
// description, readme, license and links. The version documents, most of
// the bytes, are encoded one at a time straight into one buffer sized for
// them all: a package of many large versions (tens of megabytes) is not
// copied several times over while it is encoded. The bytes are those of
// json.Marshal of the whole document: keys sorted, "versions" last.
func (pk *packument) fullJSON() []byte {
	head := mustJSON(pk.fullHead())
	size := len(head) + 16
	keys := make([]string, 0, len(pk.versions))
	for v, d := range pk.versions {
		keys = append(keys, v)
		for k, x := range d {
			size += len(k) + len(x) + 4
		}
	}
	sort.Strings(keys)
	b := bytes.NewBuffer(make([]byte, 0, size+len(keys)*32))
	b.Write(head[:len(head)-1]) // without its closing brace
	b.WriteString(`,"versions":{`)
	for i, v := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustJSON(v))
		b.WriteByte(':')
		b.Write(mustJSON(pk.versions[v]))
	}
	b.WriteString("}}")
	return b.Bytes()
}

// fullHead returns the full packument without its versions, whose key
// sorts after all of these.
func (pk *packument) fullHead() map[string]json.RawMessage {
	doc := map[string]json.RawMessage{"readme": mustJSON("")}
	latest := pk.latestStored()
	for _, f := range topLevelFields {
		if v, ok := latest[f]; ok {
			doc[f] = v
		}
	}
	doc["_id"] = mustJSON(pk.name)
	doc["_rev"] = mustJSON(pk.rev)
	doc["name"] = mustJSON(pk.name)
	doc["dist-tags"] = mustJSON(pk.tags)
	doc["time"] = mustJSON(pk.times)
	doc["maintainers"] = mustJSON(pk.maintainers())
	return doc
}

// latestStored returns the stored manifest of the latest version, with its readme.
func (pk *packument) latestStored() map[string]json.RawMessage {
	for _, rel := range pk.proj.Releases {
		if rel.Version == pk.latest {
			var m map[string]json.RawMessage
			if json.Unmarshal(rel.Metadata, &m) == nil {
				return m
			}
		}
	}
	return nil
}

func (pk *packument) maintainers() []person {
	out := make([]person, 0, len(pk.proj.Owners))
	for _, u := range pk.proj.Owners {
		out = append(out, shown(u.Name, pk.emails))
	}
	return out
}

type abbreviatedDoc struct {
	Name     string                                `json:"name"`
	Modified string                                `json:"modified"`
	DistTags map[string]string                     `json:"dist-tags"`
	Versions map[string]map[string]json.RawMessage `json:"versions"`
}

func (pk *packument) abbreviated() any {
	doc := abbreviatedDoc{Name: pk.name, Modified: pk.times["modified"], DistTags: pk.tags,
		Versions: make(map[string]map[string]json.RawMessage, len(pk.versions))}
	for v, d := range pk.versions {
		a := make(map[string]json.RawMessage, len(abbreviatedFields))
		for _, f := range abbreviatedFields {
			if x, ok := d[f]; ok {
				a[f] = x
			}
		}
		doc.Versions[v] = a
	}
	return doc
}

// searchPackage is a package as /-/v1/search describes it.
type searchPackage struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description"`
	Keywords    []string          `json:"keywords"`
	Date        string            `json:"date"`
	Links       map[string]string `json:"links"`
	Publisher   *searchUser       `json:"publisher,omitempty"`
	Maintainers []searchUser      `json:"maintainers"`
}

type searchUser struct {
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
}

func (pk *packument) searchEntry() any {
	m := pk.latestStored()
	sp := searchPackage{Name: pk.name, Version: pk.latest, Keywords: []string{}, Date: pk.times[pk.latest],
		Links: map[string]string{}, Maintainers: []searchUser{}}
	json.Unmarshal(m["description"], &sp.Description)
	json.Unmarshal(m["keywords"], &sp.Keywords)
	if sp.Keywords == nil {
		sp.Keywords = []string{}
	}
	var user person
	if json.Unmarshal(m["_npmUser"], &user) == nil && user.Name != "" {
		sp.Publisher = &searchUser{Username: user.Name, Email: pk.emails[user.Name]}
	}
	for _, o := range pk.maintainers() {
		sp.Maintainers = append(sp.Maintainers, searchUser{Username: o.Name, Email: o.Email})
	}
	var homepage string
	if json.Unmarshal(m["homepage"], &homepage) == nil && homepage != "" {
		sp.Links["homepage"] = homepage
	}
	var repo struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(m["repository"], &repo) == nil && repo.URL != "" {
		sp.Links["repository"] = repo.URL
	}
	return sp
}

// revision returns the package's document revision, CouchDB-style: it
// changes with every change to the package.
func revision(p *trove.Package) string {
	sum := sha256.Sum256([]byte(string(p.Ecosystem) + "\x00" + string(p.Name) + "\x00" + strconv.FormatInt(p.LastSerial, 10)))
	return strconv.FormatInt(p.LastSerial, 10) + "-" + hex.EncodeToString(sum[:8])
}

// formatTime formats a time as npm does: UTC with milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// mustJSON encodes values that always encode (strings, maps of raw JSON).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("npm: encoding %T: %v", v, err))
	}
	return b
}

// sortedVersions returns a packument's versions in semver order.
func sortedVersions(vs []string) []string {
	slices.SortFunc(vs, CompareVersions)
	return vs
}
