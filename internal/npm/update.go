package npm

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// MaxDeprecationLen bounds a deprecation message.
const MaxDeprecationLen = 4096

// update serves a PUT /E without attachments: npm sends the whole
// packument it read with ?write=true, changed. Only deprecations and
// dist-tags may change, and, with /-rev/R, versions left out of the
// document are unpublished. npm owner sends only the maintainers, with one
// name added or removed: that changes the package's owners. Everything is
// checked before anything is applied.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, who *access.Principal, req request, doc *packageDoc) error {
	ctx := r.Context()
	proj, err := h.o.Registry.Project(ctx, trove.NPM, string(req.name))
	if err != nil {
		return err
	}
	pk, err := h.newPackument(proj)
	if err != nil {
		return err
	}
	if err := checkRev(pk.rev, req, doc.Rev); err != nil {
		return err
	}
	var owner *ownerChange
	if len(doc.Maintainers) > 0 && string(doc.Maintainers) != "null" {
		var sent []person
		if err := json.Unmarshal(doc.Maintainers, &sent); err != nil {
			return trove.Error(trove.ErrInvalid, "maintainers must be a list of {name, email}: %v", jsonError(err))
		}
		if owner, err = maintainersChange(sent, pk.maintainers()); err != nil {
			return err
		}
	}

	var deletes []string
	type deprecation struct{ version, msg string }
	var deprecations []deprecation
	if doc.Versions != nil {
		sentVersions := *doc.Versions
		for _, v := range sortedKeys(sentVersions) {
			served, ok := pk.versions[v]
			if !ok {
				return trove.Error(trove.ErrInvalid, "%s has no version %s; a version is added only by publishing it with its tarball (npm publish), and an unpublished version never comes back", req.name, v)
			}
			sent, err := decodeManifest(sentVersions[v])
			if err != nil {
				return trove.Error(trove.ErrInvalid, "versions[%q] is not a JSON object: %v", v, err)
			}
			servedM, _ := decodeManifest(mustJSON(served))
			if field := versionChange(sent, servedM); field != "" {
				return trove.Error(trove.ErrInvalid, "%s@%s: %q differs from the published version; a published version never changes, only its deprecation message may", req.name, v, field)
			}
			msg, err := deprecationOf(sent)
			if err != nil {
				return trove.Error(trove.ErrInvalid, "%s@%s: %v", req.name, v, err)
			}
			if old, _ := deprecationOf(servedM); msg != old {
				deprecations = append(deprecations, deprecation{v, msg})
			}
		}
		for _, v := range sortedVersions(keys(pk.versions)) {
			if _, ok := sentVersions[v]; !ok {
				deletes = append(deletes, v)
			}
		}
		if len(deletes) > 0 && !req.hasRev {
			return trove.Error(trove.ErrInvalid, "the document leaves out versions %v; to unpublish a version use npm unpublish %s@<version>", deletes, req.name)
		}
	}

	deleted := make(map[string]bool, len(deletes))
	for _, v := range deletes {
		deleted[v] = true
	}
	real := make(map[string]string, len(proj.Tags)) // tags that exist, not computed
	for _, t := range proj.Tags {
		if _, ok := pk.versions[t.Version]; ok {
			real[t.Tag] = t.Version
		}
	}
	type tagSet struct{ tag, version string }
	var sets []tagSet
	var removes []string
	if doc.DistTags != nil {
		sent := *doc.DistTags
		for _, tag := range sortedKeys(sent) {
			v := sent[tag]
			if err := checkTag(tag); err != nil {
				return err
			}
			if _, ok := pk.versions[v]; !ok || deleted[v] {
				return trove.Error(trove.ErrInvalid, "dist-tag %q points at %q, which is not a version of %s", tag, v, req.name)
			}
			if pk.tags[tag] != v {
				sets = append(sets, tagSet{tag, v})
			}
		}
		for _, tag := range sortedKeys(real) {
			if _, ok := sent[tag]; ok || deleted[real[tag]] {
				continue
			}
			if tag == "latest" {
				return trove.Error(trove.ErrInvalid, "the latest dist-tag cannot be removed; point it at another version instead")
			}
			removes = append(removes, tag)
		}
	}

	if owner != nil {
		if len(deletes)+len(deprecations)+len(sets)+len(removes) > 0 {
			return trove.Error(trove.ErrInvalid, "change the maintainers in a request of their own (npm owner add|rm), not together with versions or dist-tags")
		}
		if err := allow(who, access.Publish, req.name); err != nil {
			return err
		}
		change := h.o.Registry.RemoveOwner
		if owner.add {
			change = h.o.Registry.AddOwner
		}
		if err := change(ctx, who, trove.NPM, string(req.name), owner.user); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": string(req.name)})
	}

	// Check permissions and the unpublish window for everything first, so
	// that a refused request changes nothing.
	if len(deletes)+len(deprecations) > 0 {
		if err := allow(who, access.Yank, req.name); err != nil {
			return err
		}
	}
	if len(sets)+len(removes) > 0 {
		if err := allow(who, access.Publish, req.name); err != nil {
			return err
		}
	}
	if err := h.checkWindow(who, pk, deletes); err != nil {
		return err
	}

	target := func(v string) trove.Target {
		return trove.Target{Ecosystem: trove.NPM, Name: string(req.name), Version: v}
	}
	for _, v := range deletes {
		if err := h.o.Registry.Delete(ctx, who, target(v), h.o.UnpublishWindow); err != nil {
			return err
		}
	}
	for _, s := range sets {
		if err := h.o.Registry.SetDistTag(ctx, who, target(s.version), s.tag); err != nil {
			return err
		}
	}
	for _, tag := range removes {
		if err := h.o.Registry.RemoveDistTag(ctx, who, target(""), tag); err != nil {
			return err
		}
	}
	for _, d := range deprecations {
		if err := h.o.Registry.Deprecate(ctx, who, target(d.version), d.msg); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": string(req.name)})
}

// checkRev refuses a write based on an outdated read of the package.
func checkRev(current string, req request, docRev *string) error {
	for _, rev := range []struct {
		ok bool
		v  string
	}{{req.hasRev, req.rev}, {docRev != nil, deref(docRev)}} {
		if rev.ok && rev.v != current {
			return trove.Error(trove.ErrExists, "the package changed since you read it (revision %q, now %q); run the command again", rev.v, current)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkWindow refuses, before anything is deleted, versions that the
// caller may no longer unpublish (the registry enforces it again).
func (h *Handler) checkWindow(who *access.Principal, pk *packument, versions []string) error {
	if who.Admin {
		return nil
	}
	for _, rel := range pk.proj.Releases {
		for _, v := range versions {
			if rel.Version == v && time.Since(rel.PublishedAt) > h.o.UnpublishWindow {
				return trove.Error(access.ErrDenied, "%s %s was published more than %s ago and can no longer be unpublished by its owners: deprecate it instead (npm deprecate), or ask an administrator",
					pk.name, v, h.o.UnpublishWindow)
			}
		}
	}
	return nil
}

// versionChange returns the first field, other than deprecated, in which
// a sent version document differs from the served one.
func versionChange(sent, served manifest) string {
	fields := make(map[string]bool, len(sent)+len(served))
	for k := range sent {
		fields[k] = true
	}
	for k := range served {
		fields[k] = true
	}
	for _, k := range sortedKeys(fields) {
		if k != "deprecated" && !jsonEqual(sent[k], served[k]) {
			return k
		}
	}
	return ""
}

// deprecationOf returns a version's deprecation message ("" for none).
func deprecationOf(m manifest) (string, error) {
	switch d := m["deprecated"].(type) {
	case nil:
		return "", nil
	case string:
		if len(d) > MaxDeprecationLen {
			return "", trove.Error(trove.ErrInvalid, "the deprecation message is longer than %d bytes", MaxDeprecationLen)
		}
		return d, nil
	}
	return "", trove.Error(trove.ErrInvalid, "deprecated must be a string")
}

// An ownerChange adds or removes one owner, by user name.
type ownerChange struct {
	add  bool
	user string
}

// maintainersChange compares the maintainers sent with the current ones by
// name (emails are ignored) and returns the one owner added or removed, or
// nil if the names are the same. npm owner changes one at a time; more
// changes at once are refused, so that a request is applied whole or not at all.
func maintainersChange(sent, current []person) (*ownerChange, error) {
	now := make(map[string]bool, len(current))
	for _, p := range current {
		now[p.Name] = true
	}
	want := make(map[string]bool, len(sent))
	var changes []ownerChange
	for _, p := range sent {
		if p.Name == "" {
			return nil, trove.Error(trove.ErrInvalid, "maintainers must be a list of {name, email}, and a name is missing")
		}
		if !want[p.Name] && !now[p.Name] {
			changes = append(changes, ownerChange{add: true, user: p.Name})
		}
		want[p.Name] = true
	}
	for _, p := range current {
		if !want[p.Name] {
			changes = append(changes, ownerChange{user: p.Name})
		}
	}
	switch len(changes) {
	case 0:
		return nil, nil
	case 1:
		return &changes[0], nil
	}
	if len(want) == 0 {
		return nil, trove.Error(trove.ErrInvalid, "a package keeps at least one owner; add another owner first")
	}
	return nil, trove.Error(trove.ErrInvalid, "the maintainers sent differ from the current ones in %d names; add or remove one owner at a time (npm owner add|rm)", len(changes))
}

// unpublishAll serves DELETE /E/-rev/R: every version is unpublished
// (each becomes a tombstone; no version or file name is ever reused).
func (h *Handler) unpublishAll(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "unpublishing")
	if err != nil {
		return err
	}
	if err := allow(who, access.Yank, req.name); err != nil {
		return err
	}
	proj, err := h.o.Registry.Project(r.Context(), trove.NPM, string(req.name))
	if err != nil {
		return err
	}
	pk, err := h.newPackument(proj)
	if err != nil {
		return err
	}
	if err := checkRev(pk.rev, req, nil); err != nil {
		return err
	}
	versions := sortedVersions(keys(pk.versions))
	if err := h.checkWindow(who, pk, versions); err != nil {
		return err
	}
	for _, v := range versions {
		t := trove.Target{Ecosystem: trove.NPM, Name: string(req.name), Version: v}
		if err := h.o.Registry.Delete(r.Context(), who, t, h.o.UnpublishWindow); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, ok)
}

// deleteTarball serves DELETE /E/-/F.tgz/-rev/R, which npm sends after
// unpublishing a version. A tarball goes with its version, so once that is
// unpublished there is nothing left to do; a tarball of a version that is
// still published cannot be deleted on its own.
func (h *Handler) deleteTarball(w http.ResponseWriter, r *http.Request, req request) error {
	if _, err := h.needPrincipal(r.Context(), "deleting a tarball"); err != nil {
		return err
	}
	_, err := h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
	switch {
	case err == nil:
		return trove.Error(trove.ErrInvalid, "a tarball cannot be deleted on its own: unpublish its version with npm unpublish %s@<version>", req.name)
	case !isNotFound(err):
		return err
	}
	return writeJSON(w, http.StatusOK, ok)
}

// jsonEqual compares decoded JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == bn {
			return true
		}
		x, err1 := a.Float64()
		y, err2 := bn.Float64()
		return err1 == nil && err2 == nil && x == y
	case string, bool, float64, nil:
		return a == b
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := keys(m)
	sort.Strings(out)
	return out
}
