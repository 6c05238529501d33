package npm

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// An upstreamDoc is an upstream's full packument, parsed once per render:
// the top level into raw values, and each version only as far as the
// proxy needs (name, version, dist, install scripts). The raw values
// point into the upstream's body, which the cache bounds by size.
type upstreamDoc struct {
	name     string
	top      map[string]json.RawMessage
	tags     map[string]string
	times    map[string]string
	versions map[string]*upstreamVersion
}

// An upstreamVersion is one version of an upstream packument.
type upstreamVersion struct {
	raw       json.RawMessage // the version's document, as the upstream sent it
	version   string
	integrity string // dist.integrity, "" if absent
	shasum    string // dist.shasum, "" if absent
	tarball   string // dist.tarball, the upstream's URL of the file
	scripts   bool   // preinstall, install or postinstall (or hasInstallScript)
}

// upVersionFields are what the proxy reads of an upstream version.
type upVersionFields struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dist    struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
	Scripts          map[string]json.RawMessage `json:"scripts"`
	HasInstallScript bool                       `json:"hasInstallScript"`
}

// parseUpstreamDoc parses an upstream's full packument of the package
// name. Versions the proxy cannot use (not an object, another name, a
// version that is not valid semver, no tarball) are left out and logged:
// an upstream's odd version must not make the whole package unusable.
// Errors wrap trove.ErrInvalid: the document as a whole is unusable.
func parseUpstreamDoc(name trove.Name, body []byte) (*upstreamDoc, error) {
	d := &upstreamDoc{name: string(name), tags: map[string]string{}, times: map[string]string{},
		versions: map[string]*upstreamVersion{}}
	if err := json.Unmarshal(body, &d.top); err != nil {
		return nil, trove.Error(trove.ErrInvalid, "the upstream's document of %s is not a JSON object: %v", name, jsonError(err))
	}
	if n, ok := d.top["name"]; ok {
		var got string
		if json.Unmarshal(n, &got) != nil || got != string(name) {
			return nil, trove.Error(trove.ErrInvalid, "the upstream's document of %s names package %s", name, n)
		}
	}
	var raw map[string]json.RawMessage
	if v, ok := d.top["versions"]; ok && json.Unmarshal(v, &raw) != nil {
		return nil, trove.Error(trove.ErrInvalid, "the upstream's document of %s has versions that are not an object", name)
	}
	for v, doc := range raw {
		uv, err := parseUpstreamVersion(name, v, doc)
		if err != nil {
			slog.Warn("npm upstream: version left out", "package", string(name), "version", v, "err", err)
			continue
		}
		d.versions[v] = uv
	}
	// Odd tags and times are ignored one by one, like odd versions.
	var tags, times map[string]json.RawMessage
	json.Unmarshal(d.top["dist-tags"], &tags)
	json.Unmarshal(d.top["time"], &times)
	for k, v := range tags {
		var s string
		if json.Unmarshal(v, &s) == nil {
			d.tags[k] = s
		}
	}
	for k, v := range times {
		var s string
		if json.Unmarshal(v, &s) == nil {
			d.times[k] = s
		}
	}
	return d, nil
}

// parseUpstreamVersion reads what the proxy needs of one version.
func parseUpstreamVersion(name trove.Name, v string, doc json.RawMessage) (*upstreamVersion, error) {
	var f upVersionFields
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, fmt.Errorf("not a version document: %v", jsonError(err))
	}
	switch {
	case f.Name != string(name):
		return nil, fmt.Errorf("it names package %q", f.Name)
	case f.Version != v:
		return nil, fmt.Errorf("it has version %q", f.Version)
	case !semver.IsValid("v" + v):
		return nil, fmt.Errorf("%q is not a semantic version", v)
	case f.Dist.Tarball == "":
		return nil, fmt.Errorf("it has no dist.tarball")
	}
	uv := &upstreamVersion{raw: doc, version: v, integrity: f.Dist.Integrity, shasum: f.Dist.Shasum,
		tarball: f.Dist.Tarball, scripts: f.HasInstallScript}
	for _, s := range installScripts {
		if _, ok := f.Scripts[s]; ok {
			uv.scripts = true
		}
	}
	return uv, nil
}

// published returns when the upstream says the version was published;
// the zero time if it does not say.
func (d *upstreamDoc) published(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, d.times[v])
	if err != nil {
		return time.Time{}
	}
	return t
}

// sortedVersions returns the document's usable versions in semver order.
func (d *upstreamDoc) sortedVersions() []string {
	vs := make([]string, 0, len(d.versions))
	for v := range d.versions {
		vs = append(vs, v)
	}
	return sortedVersions(vs)
}

// filename returns the file name Trove serves a version's tarball as:
// npm's conventional name-1.0.0.tgz, whatever the upstream calls it.
func upstreamFilename(name trove.Name, version string) string {
	return basename(name) + "-" + version + ".tgz"
}

// versionOfFile returns the version whose tarball Trove serves as
// filename, or "" if no version of the document is served under it.
func (d *upstreamDoc) versionOfFile(filename string) string {
	v, ok := strings.CutPrefix(filename, basename(trove.Name(d.name))+"-")
	if !ok {
		return ""
	}
	v, ok = strings.CutSuffix(v, ".tgz")
	if _, known := d.versions[v]; !ok || !known {
		return ""
	}
	return v
}

// A firstSeen is the digests of a version's file that Trove imported: the
// bytes it serves for that version forever, whatever the upstream says now.
type firstSeen struct {
	Integrity string `json:"integrity"`
	Shasum    string `json:"shasum"`
}

// A proxyView is how an upstream document is shown to clients: the
// versions a curation policy blocks (by version, the rule's reason) are
// left out, tarballs point at Trove, and imported files' digests win.
type proxyView struct {
	baseURL string
	blocked map[string]string
	seen    map[string]firstSeen
}

// A renderedDoc is an upstream document as Trove serves it.
type renderedDoc struct {
	name     string
	top      map[string]json.RawMessage
	tags     map[string]string
	times    map[string]string
	versions map[string]map[string]json.RawMessage // served version documents
	modified time.Time
}

// topLevelUpstream are the top-level fields of an upstream's packument
// Trove passes on; others (users, _attachments, _rev, …) are dropped.
var topLevelUpstream = append([]string{"maintainers", "contributors"}, topLevelFields...)

// render rewrites the document for clients.
func (pv *proxyView) render(d *upstreamDoc) (*renderedDoc, error) {
	r := &renderedDoc{name: d.name, top: map[string]json.RawMessage{}, times: map[string]string{},
		versions: make(map[string]map[string]json.RawMessage, len(d.versions))}
	for _, f := range topLevelUpstream {
		if v, ok := d.top[f]; ok {
			r.top[f] = v
		}
	}
	var allowed []string
	for _, v := range d.sortedVersions() {
		if _, no := pv.blocked[v]; no {
			continue
		}
		doc, err := pv.versionDoc(d, d.versions[v])
		if err != nil {
			return nil, err
		}
		r.versions[v] = doc
		allowed = append(allowed, v)
		if t, ok := d.times[v]; ok {
			r.times[v] = t
			if pt := d.published(v); pt.After(r.modified) {
				r.modified = pt
			}
		}
	}
	r.tags = moveTags(d.tags, allowed, pv.blocked)
	if t, ok := d.times["created"]; ok {
		r.times["created"] = t
	}
	if !r.modified.IsZero() {
		r.times["modified"] = formatTime(r.modified)
	}
	return r, nil
}

// versionDoc returns the served document of an upstream version: the
// upstream's, without its readme, with the tarball at Trove and, once a
// file was imported, that file's digests. A version whose digests the
// upstream changed since is logged: its clients keep the first-seen bytes.
func (pv *proxyView) versionDoc(d *upstreamDoc, uv *upstreamVersion) (map[string]json.RawMessage, error) {
	var doc, dist map[string]json.RawMessage
	if err := json.Unmarshal(uv.raw, &doc); err != nil {
		return nil, fmt.Errorf("version %s: %w", uv.version, err)
	}
	json.Unmarshal(doc["dist"], &dist)
	if dist == nil {
		dist = map[string]json.RawMessage{}
	}
	delete(doc, "readme")
	delete(doc, "readmeFilename")
	name := trove.Name(d.name)
	dist["tarball"] = mustJSON(pv.baseURL + "/" + d.name + "/-/" + upstreamFilename(name, uv.version))
	if seen, ok := pv.seen[uv.version]; ok {
		if (uv.integrity != "" && uv.integrity != seen.Integrity) || (uv.shasum != "" && !strings.EqualFold(uv.shasum, seen.Shasum)) {
			slog.Warn("npm upstream: the upstream changed the digests of an imported version; serving the first-seen bytes",
				"package", d.name, "version", uv.version, "upstream_integrity", uv.integrity, "kept_integrity", seen.Integrity)
			delete(dist, "signatures") // they sign the upstream's integrity, not ours
		}
		dist["integrity"] = mustJSON(seen.Integrity)
		dist["shasum"] = mustJSON(seen.Shasum)
	}
	doc["dist"] = mustJSON(dist)
	if uv.scripts {
		doc["hasInstallScript"] = mustJSON(true)
	}
	return doc, nil
}

// moveTags returns the dist-tags clients see: a tag pointing at a blocked
// (or unusable) version moves to the highest allowed stable version below
// it, or is dropped when there is none. allowed is in semver order.
func moveTags(tags map[string]string, allowed []string, blocked map[string]string) map[string]string {
	ok := make(map[string]bool, len(allowed))
	for _, v := range allowed {
		ok[v] = true
	}
	out := make(map[string]string, len(tags))
	for tag, v := range tags {
		if ok[v] {
			out[tag] = v
			continue
		}
		if !semver.IsValid("v" + v) {
			continue
		}
		for i := len(allowed) - 1; i >= 0; i-- {
			a := allowed[i]
			if semver.Prerelease("v"+a) == "" && CompareVersions(a, v) < 0 {
				out[tag] = a
				break
			}
		}
	}
	return out
}

// fullJSON encodes the full packument of an upstream package.
func (r *renderedDoc) fullJSON() []byte {
	head := make(map[string]json.RawMessage, len(r.top)+5)
	for k, v := range r.top {
		head[k] = v
	}
	head["_id"] = mustJSON(r.name)
	head["name"] = mustJSON(r.name)
	head["dist-tags"] = mustJSON(r.tags)
	head["time"] = mustJSON(r.times)
	if _, ok := head["readme"]; !ok {
		head["readme"] = mustJSON("")
	}
	return encodeWithVersions(mustJSON(head), r.versions)
}

// abbreviatedJSON encodes the abbreviated packument ("corgi").
func (r *renderedDoc) abbreviatedJSON() []byte {
	vs := make(map[string]map[string]json.RawMessage, len(r.versions))
	for v, d := range r.versions {
		a := make(map[string]json.RawMessage, len(abbreviatedFields))
		for _, f := range abbreviatedFields {
			if x, ok := d[f]; ok {
				a[f] = x
			}
		}
		vs[v] = a
	}
	head := map[string]json.RawMessage{"name": mustJSON(r.name), "dist-tags": mustJSON(r.tags)}
	if !r.modified.IsZero() {
		head["modified"] = mustJSON(formatTime(r.modified))
	}
	return encodeWithVersions(mustJSON(head), vs)
}

// encodeWithVersions appends "versions" to an encoded head object,
// encoding one version at a time into one
// buffer: a large package is not copied several times over.
func encodeWithVersions(head []byte, versions map[string]map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(versions))
	size := len(head) + 16
	for v, d := range versions {
		keys = append(keys, v)
		for k, x := range d {
			size += len(k) + len(x) + 4
		}
	}
	sort.Strings(keys)
	b := bytes.NewBuffer(make([]byte, 0, size+len(keys)*32))
	b.Write(head[:len(head)-1])
	if len(head) > 2 {
		b.WriteByte(',')
	}
	b.WriteString(`"versions":{`)
	for i, v := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustJSON(v))
		b.WriteByte(':')
		b.Write(mustJSON(versions[v]))
	}
	b.WriteString("}}")
	return b.Bytes()
}

// verifyUpstream checks a fetched tarball against what the upstream's
// document says of it: every sha512, sha256 or sha1 hash in dist.integrity
// and dist.shasum must match, and at least one must be there (sha512 is
// what npm's documents carry; a sha1 shasum alone is accepted for old
// versions that have nothing else). A version with neither is refused:
// Trove cannot know the bytes are the ones published. Errors describe
// the mismatch; the caller marks them as the upstream's fault.
func verifyUpstream(uv *upstreamVersion, d blob.Digests) error {
	if uv.integrity == "" && uv.shasum == "" {
		return fmt.Errorf("the upstream's document gives no dist.integrity or dist.shasum for version %s, so its tarball cannot be verified", uv.version)
	}
	known := map[string]string{"sha512": d.SHA512, "sha256": string(d.SHA256), "sha1": d.SHA1}
	checked := 0
	for _, tok := range strings.Fields(uv.integrity) {
		algo, rest, _ := strings.Cut(tok, "-")
		want, isKnown := known[algo]
		if !isKnown {
			continue
		}
		rest, _, _ = strings.Cut(rest, "?")
		got, err := base64.StdEncoding.DecodeString(rest)
		wantBytes, _ := hex.DecodeString(want)
		if err != nil || subtle.ConstantTimeCompare(got, wantBytes) != 1 {
			return fmt.Errorf("the tarball of version %s does not match the upstream's dist.integrity (%s)", uv.version, algo)
		}
		checked++
	}
	if uv.shasum != "" && !strings.EqualFold(uv.shasum, d.SHA1) {
		return fmt.Errorf("the tarball of version %s does not match the upstream's dist.shasum (sha1 %s, got %s)", uv.version, uv.shasum, d.SHA1)
	}
	if checked == 0 && uv.shasum == "" {
		return fmt.Errorf("the upstream's dist.integrity %q of version %s has no sha512, sha256 or sha1 hash to verify its tarball with", uv.integrity, uv.version)
	}
	return nil
}

// upstreamManifest reads a verified upstream tarball as a publish would
// (internal/archive's limits and rules), checks that its package.json is
// the package and version it was fetched as, and returns the manifest
// Trove stores for it: derived from that package.json exactly as a
// publish derives it (and as trove log recover rebuilds it), so that what
// Trove keeps of an imported version comes from its bytes. Clients are
// served the upstream's document of the version (see proxyView), with the
// digests of these bytes.
func upstreamManifest(st *registry.Staged, name trove.Name, version string) ([]byte, error) {
	t, err := readTarball(st, st.Size())
	if err != nil {
		return nil, err
	}
	m, err := parsePackageJSON(t.packageJSON)
	if err != nil {
		return nil, err
	}
	if n := strings.TrimSpace(m["name"].(string)); n != string(name) {
		return nil, trove.Error(trove.ErrInvalid, "the tarball's package.json names package %q, not %s", n, name)
	}
	if v, _ := cleanVersion(m["version"].(string)); v != version {
		return nil, trove.Error(trove.ErrInvalid, "the tarball's package.json has version %q, not %s", m["version"], version)
	}
	return derive(m, t, st.Digests, nil, version)
}
