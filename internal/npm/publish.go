package npm

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// packageDoc is the body of PUT /E: a publish (one version and its
// tarball in _attachments) or, without attachments, the whole packument
// as npm read it with ?write=true and changed it (deprecate, unpublish).
type packageDoc struct {
	ID          *string                     `json:"_id"`
	Rev         *string                     `json:"_rev"`
	Name        *string                     `json:"name"`
	DistTags    *map[string]string          `json:"dist-tags"`
	Versions    *map[string]json.RawMessage `json:"versions"`
	Attachments map[string]attachment       `json:"_attachments"`
	Maintainers json.RawMessage             `json:"maintainers"`
	Access      *string                     `json:"access"` // null, "public" or "restricted"
}

type attachment struct {
	ContentType string    `json:"content_type"`
	Data        rawString `json:"data"`
	Length      *int64    `json:"length"`
}

// rawString is a JSON string kept undecoded: a tarball's base64 is most of
// a publish request, and decoding it into a Go string would copy it. It
// refers to the bytes being unmarshaled, which the caller keeps.
type rawString []byte

func (s *rawString) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflectString}
	}
	*s = b
	return nil
}

// reader returns the string's content. Base64 has nothing JSON must
// escape, but an escaped "\/" is valid JSON and is decoded if present.
func (s rawString) reader() (io.Reader, error) {
	inner := s[1 : len(s)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return bytes.NewReader(inner), nil
	}
	var str string
	if err := json.Unmarshal(s, &str); err != nil {
		return nil, err
	}
	return strings.NewReader(str), nil
}

// needPrincipal returns the request's principal, or an error saying how
// to log in.
func (h *Handler) needPrincipal(ctx context.Context, what string) (*access.Principal, error) {
	who := access.PrincipalFrom(ctx)
	if who == nil {
		return nil, fmt.Errorf("%w: %s needs you to log in: npm login --registry=%s/", access.ErrUnauthenticated, what, h.o.BaseURL)
	}
	return who, nil
}

// putPackage serves PUT /E and PUT /E/-rev/R.
func (h *Handler) putPackage(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "publishing")
	if err != nil {
		return err
	}
	if !who.Allows(access.Publish, trove.NPM, req.name) && !who.Allows(access.Yank, trove.NPM, req.name) && !who.Allows(access.Owners, trove.NPM, req.name) {
		return h.o.Registry.CheckScope(who, access.Publish, trove.NPM, string(req.name))
	}
	body, err := adapter.ReadBody(w, r, h.o.MaxPublishBytes, "the publish request")
	if err != nil {
		return err
	}
	var doc packageDoc
	if err := decodeJSON(body, &doc, "the request body"); err != nil {
		return err
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{"name", doc.Name}, {"_id", doc.ID}} {
		if f.v != nil && *f.v != string(req.name) {
			return trove.Error(trove.ErrInvalid, "the request's %s %q differs from the package %s in the URL", f.field, *f.v, req.name)
		}
	}
	if len(doc.Attachments) > 0 {
		if req.hasRev {
			return trove.Error(trove.ErrInvalid, "a publish (a request with _attachments) cannot name a revision")
		}
		res, err := h.publish(r.Context(), who, req.name, &doc)
		if err != nil {
			return err
		}
		return adapter.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "id": string(req.name), "rev": revision(res.Package)})
	}
	return h.update(w, r, who, req, &doc)
}

// publish stores the version a publish request carries.
func (h *Handler) publish(ctx context.Context, who *access.Principal, name trove.Name, doc *packageDoc) (*registry.Result, error) {
	if err := h.o.Registry.CheckScope(who, access.Publish, trove.NPM, string(name)); err != nil {
		return nil, err
	}
	private, err := publishAccess(doc)
	if err != nil {
		return nil, err
	}
	sent, version, err := sentManifest(name, doc)
	if err != nil {
		return nil, err
	}
	tags, err := publishTags(doc, sent["version"].(string), version)
	if err != nil {
		return nil, err
	}
	staged, err := h.stageTarball(doc, sent)
	if err != nil {
		return nil, err
	}
	defer staged.Close()
	derived, err := deriveManifest(staged, sent, who, name, version)
	if err != nil {
		return nil, err
	}
	return h.o.Registry.Publish(ctx, who, &registry.Upload{
		Ecosystem: trove.NPM,
		Name:      string(name),
		Version:   version,
		Metadata:  derived,
		Files: []registry.UploadFile{{
			Filename: basename(name) + "-" + version + ".tgz",
			Kind:     "tarball",
			Content:  staged,
		}},
		Tags:         tags,
		Dependencies: dependencies(mustManifest(derived)),
		Private:      private,
	})
}

// publishAccess reads a publish request's access: "restricted" (npm
// publish --access restricted) asks for a private package, "public" or
// null (no --access) for a public one. As on npm's registry it applies
// to the first publish only: an existing package keeps its access
// (registry.Upload.Private), which npm access set status changes.
func publishAccess(doc *packageDoc) (bool, error) {
	switch {
	case doc.Access == nil || *doc.Access == "public":
		return false, nil
	case *doc.Access == "restricted":
		return true, nil
	}
	return false, trove.Error(trove.ErrInvalid, "unknown access %q: want restricted (a private package) or public", *doc.Access)
}

// sentManifest returns the one version manifest a publish request sends,
// checked against the package, and its version as npm publishes it.
func sentManifest(name trove.Name, doc *packageDoc) (manifest, string, error) {
	if doc.Versions == nil || len(*doc.Versions) != 1 {
		return nil, "", trove.Error(trove.ErrInvalid, "a publish request must carry exactly one version, not %d", lenVersions(doc))
	}
	var sentVersion string
	var rawManifest json.RawMessage
	for v, m := range *doc.Versions {
		sentVersion, rawManifest = v, m
	}
	sent, err := decodeManifest(rawManifest)
	if err != nil {
		return nil, "", trove.Error(trove.ErrInvalid, "versions[%q] is not a JSON object: %w", sentVersion, err)
	}
	version, err := cleanVersion(sentVersion)
	if err != nil {
		return nil, "", trove.Error(trove.ErrInvalid, "%w", err)
	}
	if v, ok := sent["version"].(string); !ok || v != sentVersion {
		return nil, "", trove.Error(trove.ErrInvalid, "versions[%q] has version %q; the two must be the same", sentVersion, sent["version"])
	}
	if n, ok := sent["name"].(string); !ok || n != string(name) {
		return nil, "", trove.Error(trove.ErrInvalid, "versions[%q] has name %q, but the package is %s", sentVersion, sent["name"], name)
	}
	return sent, version, nil
}

// stageTarball decodes, spools and hashes the tarball attachment in one
// pass, then checks it against what the request claims.
func (h *Handler) stageTarball(doc *packageDoc, sent manifest) (*registry.Staged, error) {
	att, err := tarballAttachment(doc)
	if err != nil {
		return nil, err
	}
	data, err := att.Data.reader()
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "the tarball attachment's data is not a valid JSON string: %w", err)
	}
	staged, err := h.o.Registry.Stage(&base64Errors{r: base64.NewDecoder(base64.StdEncoding, data)}, h.o.MaxPublishBytes)
	if err != nil {
		return nil, err
	}
	switch {
	case staged.Size() == 0:
		err = trove.Error(trove.ErrInvalid, "the tarball attachment is empty")
	case att.Length != nil && *att.Length != staged.Size():
		err = trove.Error(trove.ErrInvalid, "the tarball attachment has %d bytes, but its length says %d", staged.Size(), *att.Length)
	default:
		err = checkDigests(sent, staged.Digests)
	}
	if err != nil {
		staged.Close()
		return nil, err
	}
	return staged, nil
}

// deriveManifest returns the manifest Trove serves for the version: from
// the tarball's own package.json, which is the truth; the request's
// manifest must agree with it on everything that changes an install.
func deriveManifest(staged *registry.Staged, sent manifest, who *access.Principal, name trove.Name, version string) ([]byte, error) {
	t, err := readTarball(staged, staged.Size())
	if err != nil {
		return nil, err
	}
	pkgJSON, err := parsePackageJSON(t.packageJSON)
	if err != nil {
		return nil, err
	}
	if n := strings.TrimSpace(pkgJSON["name"].(string)); n != string(name) {
		return nil, trove.Error(trove.ErrInvalid, "the tarball's package.json names package %q, but the request publishes %s", n, name)
	}
	if v, _ := cleanVersion(pkgJSON["version"].(string)); v != version {
		return nil, trove.Error(trove.ErrInvalid, "the tarball's package.json has version %q, but the request publishes %s", pkgJSON["version"], version)
	}
	derived, err := derive(pkgJSON, t, staged.Digests, who, version)
	if err != nil {
		return nil, err
	}
	sent.normalize(t)
	if err := confusion(sent, mustManifest(derived)); err != nil {
		return nil, err
	}
	return derived, nil
}

// mustManifest decodes a manifest Trove itself encoded.
func mustManifest(b []byte) manifest {
	m, _ := decodeManifest(b)
	return m
}

// dependencies returns the packages of this registry a manifest depends
// on (dependencies, optional and peer dependencies) with their ranges; an
// alias ("x": "npm:real@^1") by the name it resolves to, and no git, URL
// or local dependency.
func dependencies(m manifest) []registry.Dependency {
	var out []registry.Dependency
	for _, field := range []string{"dependencies", "optionalDependencies", "peerDependencies"} {
		deps, _ := m[field].(map[string]any)
		for name, spec := range deps {
			s, _ := spec.(string)
			if real, ok := strings.CutPrefix(s, "npm:"); ok {
				name, s = real, ""
				if i := strings.LastIndex(real, "@"); i > 0 {
					name, s = real[:i], real[i+1:]
				}
			}
			if strings.Contains(s, ":") || strings.Contains(s, "/") {
				continue // git, URL, file:, link:, workspace: or owner/repo
			}
			out = append(out, registry.Dependency{Name: name, Constraint: s})
		}
	}
	slices.SortFunc(out, func(a, b registry.Dependency) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func lenVersions(doc *packageDoc) int {
	if doc.Versions == nil {
		return 0
	}
	return len(*doc.Versions)
}

// publishTags returns the dist-tags a publish sets: those of the request,
// which may point only at the version published, or "latest".
func publishTags(doc *packageDoc, sentVersion, version string) ([]string, error) {
	if doc.DistTags == nil || len(*doc.DistTags) == 0 {
		return []string{"latest"}, nil
	}
	var tags []string
	for tag, v := range *doc.DistTags {
		if err := checkTag(tag); err != nil {
			return nil, err
		}
		if cv, err := cleanVersion(v); v != sentVersion && (err != nil || cv != version) {
			return nil, trove.Error(trove.ErrInvalid, "dist-tag %q points at %q, but a publish may only tag the version it publishes (%s)", tag, v, version)
		}
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	return tags, nil
}

// tarballAttachment returns the request's one tarball attachment.
func tarballAttachment(doc *packageDoc) (*attachment, error) {
	var found *attachment
	for name, a := range doc.Attachments {
		switch {
		case strings.HasSuffix(name, ".sigstore"):
			return nil, trove.Error(trove.ErrInvalid, "provenance attachments (npm publish --provenance) are not supported by this registry yet; publish without --provenance")
		case !strings.HasSuffix(name, ".tgz"):
			return nil, trove.Error(trove.ErrInvalid, "unexpected attachment %q: a publish carries one .tgz tarball", name)
		case found != nil:
			return nil, trove.Error(trove.ErrInvalid, "a publish request must carry exactly one tarball, not %d", len(doc.Attachments))
		}
		a := a
		found = &a
	}
	if found == nil || found.Data == nil {
		return nil, trove.Error(trove.ErrInvalid, "the tarball attachment has no data")
	}
	return found, nil
}

// base64Errors marks base64 decoding errors as the client's.
type base64Errors struct{ r io.Reader }

func (b *base64Errors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = trove.Error(trove.ErrInvalid, "the tarball attachment is not valid base64: %w", err)
	}
	return n, err
}

// checkDigests compares dist.integrity and dist.shasum of the request's
// manifest with the digests of the tarball it carries.
func checkDigests(sent manifest, d blob.Digests) error {
	dist, _ := sent["dist"].(map[string]any)
	integrity, _ := dist["integrity"].(string)
	shasum, _ := dist["shasum"].(string)
	if integrity == "" && shasum == "" {
		return trove.Error(trove.ErrInvalid, "the version has no dist.integrity or dist.shasum to check the tarball against")
	}
	if shasum != "" && !strings.EqualFold(shasum, d.SHA1) {
		return trove.Error(trove.ErrInvalid, "the tarball does not match dist.shasum: it was corrupted on the way, or the request is inconsistent")
	}
	if integrity == "" {
		return nil
	}
	known := map[string]string{"sha512": d.SHA512, "sha256": string(d.SHA256), "sha1": d.SHA1}
	checked := 0
	for _, tok := range strings.Fields(integrity) {
		algo, rest, ok := strings.Cut(tok, "-")
		want, isKnown := known[algo]
		if !ok || !isKnown {
			continue
		}
		rest, _, _ = strings.Cut(rest, "?")
		got, err := base64.StdEncoding.DecodeString(rest)
		wantBytes, _ := hex.DecodeString(want)
		if err != nil || subtle.ConstantTimeCompare(got, wantBytes) != 1 {
			return trove.Error(trove.ErrInvalid, "the tarball does not match dist.integrity (%s): it was corrupted on the way, or the request is inconsistent", algo)
		}
		checked++
	}
	if checked == 0 {
		return trove.Error(trove.ErrInvalid, "dist.integrity %q has no sha512, sha256 or sha1 hash to check the tarball against", integrity)
	}
	return nil
}

// reflectString is the type named in errors about non-string data.
var reflectString = reflect.TypeOf("")
