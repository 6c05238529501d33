package npm

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// MaxDeprecationLen bounds a deprecation message.
const MaxDeprecationLen = 4096

// update serves a PUT /E without attachments: npm sends the whole
// packument it read with ?write=true, changed. Only deprecations and
// dist-tags may change, and, with /-rev/R, versions left out of the
// document are unpublished. npm owner sends only the maintainers, with one
// name added or removed: that changes the package's owners. The changes
// are applied together, in one registry.Apply: all or nothing.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, who *access.Principal, req request, doc *packageDoc) error {
	proj, err := h.o.Registry.Project(r.Context(), trove.NPM, string(req.name))
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
	changes, err := diff(pk, req, doc)
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		if err := h.o.Registry.Apply(r.Context(), who, trove.NPM, string(req.name), changes...); err != nil {
			return err
		}
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "id": string(req.name)})
}

// diff returns the changes a packument sent by npm asks for, in the order
// they are applied: unpublished versions, dist-tags, deprecations; or one
// owner change, alone.
func diff(pk *packument, req request, doc *packageDoc) ([]registry.Change, error) {
	owner, err := ownerDiff(pk, doc)
	if err != nil {
		return nil, err
	}
	deletes, deprecations, err := versionsDiff(pk, req, doc)
	if err != nil {
		return nil, err
	}
	tags, err := tagsDiff(pk, req, doc, deletes)
	if err != nil {
		return nil, err
	}
	changes := append(append(deletes, tags...), deprecations...)
	if owner != nil {
		if len(changes) > 0 {
			return nil, trove.Error(trove.ErrInvalid, "change the maintainers in a request of their own (npm owner add|rm), not together with versions or dist-tags")
		}
		return []registry.Change{owner}, nil
	}
	return changes, nil
}

// ownerDiff returns the owner change of a document whose maintainers
// differ from the package's owners, or nil.
func ownerDiff(pk *packument, doc *packageDoc) (registry.Change, error) {
	if len(doc.Maintainers) == 0 || string(doc.Maintainers) == "null" {
		return nil, nil
	}
	var sent []person
	if err := json.Unmarshal(doc.Maintainers, &sent); err != nil {
		return nil, trove.Error(trove.ErrInvalid, "maintainers must be a list of {name, email}: %v", jsonError(err))
	}
	return maintainersChange(sent, pk.maintainers())
}

// versionsDiff returns the deletions (versions left out of the document,
// which needs a revision) and the changed deprecations.
func versionsDiff(pk *packument, req request, doc *packageDoc) (deletes, deprecations []registry.Change, err error) {
	if doc.Versions == nil {
		return nil, nil, nil
	}
	sentVersions := *doc.Versions
	for _, v := range sortedKeys(sentVersions) {
		c, err := deprecationDiff(pk, req, v, sentVersions[v])
		if err != nil {
			return nil, nil, err
		}
		if c != nil {
			deprecations = append(deprecations, c)
		}
	}
	var left []string
	for _, v := range sortedVersions(keys(pk.versions)) {
		if _, ok := sentVersions[v]; !ok {
			left = append(left, v)
			deletes = append(deletes, registry.Delete{Version: v})
		}
	}
	if len(left) > 0 && !req.hasRev {
		return nil, nil, trove.Error(trove.ErrInvalid, "the document leaves out versions %v; to unpublish a version use npm unpublish %s@<version>", left, req.name)
	}
	return deletes, deprecations, nil
}

// deprecationDiff compares a sent version document with the served one:
// only its deprecation may differ.
func deprecationDiff(pk *packument, req request, v string, raw json.RawMessage) (registry.Change, error) {
	served, ok := pk.versions[v]
	if !ok {
		return nil, trove.Error(trove.ErrInvalid, "%s has no version %s; a version is added only by publishing it with its tarball (npm publish), and an unpublished version never comes back", req.name, v)
	}
	sent, err := decodeManifest(raw)
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "versions[%q] is not a JSON object: %w", v, err)
	}
	servedM, _ := decodeManifest(mustJSON(served))
	if field := versionChange(sent, servedM); field != "" {
		return nil, trove.Error(trove.ErrInvalid, "%s@%s: %q differs from the published version; a published version never changes, only its deprecation message may", req.name, v, field)
	}
	msg, err := deprecationOf(sent)
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "%s@%s: %w", req.name, v, err)
	}
	if old, _ := deprecationOf(servedM); msg != old {
		return registry.Deprecate{Version: v, Message: msg}, nil
	}
	return nil, nil
}

// tagsDiff returns the dist-tags to set and to remove. Tags of versions
// being deleted go with them.
func tagsDiff(pk *packument, req request, doc *packageDoc, deletes []registry.Change) ([]registry.Change, error) {
	if doc.DistTags == nil {
		return nil, nil
	}
	deleted := make(map[string]bool, len(deletes))
	for _, d := range deletes {
		deleted[d.(registry.Delete).Version] = true
	}
	sent := *doc.DistTags
	var changes []registry.Change
	for _, tag := range sortedKeys(sent) {
		v := sent[tag]
		if err := checkTag(tag); err != nil {
			return nil, err
		}
		if _, ok := pk.versions[v]; !ok || deleted[v] {
			return nil, trove.Error(trove.ErrInvalid, "dist-tag %q points at %q, which is not a version of %s", tag, v, req.name)
		}
		if pk.tags[tag] != v {
			changes = append(changes, registry.SetTag{Tag: tag, Version: v})
		}
	}
	for _, t := range pk.proj.Tags { // tags that exist, not computed ones
		if _, ok := pk.versions[t.Version]; !ok || deleted[t.Version] {
			continue
		}
		if _, ok := sent[t.Tag]; ok {
			continue
		}
		if t.Tag == registry.LatestTag {
			return nil, trove.Error(trove.ErrInvalid, "the latest dist-tag cannot be removed; point it at another version instead")
		}
		changes = append(changes, registry.RemoveTag{Tag: t.Tag})
	}
	return changes, nil
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

// maintainersChange compares the maintainers sent with the current ones by
// name (emails are ignored) and returns the one owner added or removed, or
// nil if the names are the same. npm owner changes one at a time; more
// changes at once are refused, so that a request is applied whole or not at all.
func maintainersChange(sent, current []person) (registry.Change, error) {
	now := make(map[string]bool, len(current))
	for _, p := range current {
		now[p.Name] = true
	}
	want := make(map[string]bool, len(sent))
	var changes []registry.Change
	for _, p := range sent {
		if p.Name == "" {
			return nil, trove.Error(trove.ErrInvalid, "maintainers must be a list of {name, email}, and a name is missing")
		}
		if !want[p.Name] && !now[p.Name] {
			changes = append(changes, registry.AddOwner{User: p.Name})
		}
		want[p.Name] = true
	}
	for _, p := range current {
		if !want[p.Name] {
			changes = append(changes, registry.RemoveOwner{User: p.Name})
		}
	}
	switch len(changes) {
	case 0:
		return nil, nil
	case 1:
		return changes[0], nil
	}
	if len(want) == 0 {
		return nil, trove.Error(trove.ErrInvalid, "a package keeps at least one owner; add another owner first")
	}
	return nil, trove.Error(trove.ErrInvalid, "the maintainers sent differ from the current ones in %d names; add or remove one owner at a time (npm owner add|rm)", len(changes))
}

// unpublishAll serves DELETE /E/-rev/R: every version is unpublished, in
// one change (each becomes a tombstone; no version or file name is ever
// reused).
func (h *Handler) unpublishAll(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "unpublishing")
	if err != nil {
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
	var changes []registry.Change
	for _, v := range sortedVersions(keys(pk.versions)) {
		changes = append(changes, registry.Delete{Version: v})
	}
	if err := h.o.Registry.Apply(r.Context(), who, trove.NPM, string(req.name), changes...); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// deleteTarball serves DELETE /E/-/F.tgz/-rev/R, which npm sends after
// unpublishing a version. A tarball goes with its version, so once that is
// unpublished there is nothing left to do; a tarball of a version that is
// still published cannot be deleted on its own.
func (h *Handler) deleteTarball(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "deleting a tarball")
	if err != nil {
		return err
	}
	if err := h.o.Registry.Authorize(r.Context(), who, access.Yank, trove.NPM, string(req.name)); err != nil {
		return err
	}
	_, err = h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
	switch {
	case err == nil:
		return trove.Error(trove.ErrInvalid, "a tarball cannot be deleted on its own: unpublish its version with npm unpublish %s@<version>", req.name)
	case !isNotFound(err):
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
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
