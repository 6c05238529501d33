package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

// A manifest is a package.json document, or a version of a packument.
// Numbers are kept as json.Number, so re-encoding changes no value.
type manifest map[string]any

// parsePackageJSON parses a package.json as npm does (a UTF-8 byte order
// mark is allowed) and checks that it names a package and a version.
// Errors wrap trove.ErrInvalid or trove.ErrTooLarge.
func parsePackageJSON(b []byte) (manifest, error) {
	if len(b) > MaxPackageJSONSize {
		return nil, trove.Error(trove.ErrTooLarge, "package.json is larger than %d bytes", MaxPackageJSONSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, trove.Error(trove.ErrInvalid, "package.json is not valid UTF-8")
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "package.json is not a JSON object: %w", err)
	}
	name, ok := m["name"].(string)
	if !ok || name == "" {
		return nil, trove.Error(trove.ErrInvalid, "package.json has no \"name\" string")
	}
	if _, err := (Rules{}).ParseName(strings.TrimSpace(name)); err != nil {
		return nil, trove.Error(trove.ErrInvalid, "package.json: %w", err)
	}
	v, ok := m["version"].(string)
	if !ok || v == "" {
		return nil, trove.Error(trove.ErrInvalid, "package.json has no \"version\" string")
	}
	if _, err := cleanVersion(v); err != nil {
		return nil, trove.Error(trove.ErrInvalid, "package.json: %w", err)
	}
	return m, nil
}

// decodeManifest decodes one JSON object, keeping numbers exact.
func decodeManifest(b []byte) (manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m manifest
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("null")
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return m, nil
}

// cleanVersion returns the version npm publishes for v (node-semver's
// clean): without surrounding space, a leading "v" or "=", and build
// metadata.
func cleanVersion(v string) (string, error) {
	return Rules{}.VersionKey(strings.TrimLeft(strings.TrimSpace(v), "=v"))
}

// normalize applies to a package.json the normalizations npm makes before
// publishing (@npmcli/package-json's prepare steps) to the fields that
// change what an install does, so that a manifest derived from a tarball
// and one npm sent can be compared, and so that Trove serves what npm
// would. The tarball's files decide the steps that depend on files.
func (m manifest) normalize(t *tarball) {
	for k := range m {
		if strings.HasPrefix(k, "_") {
			delete(m, k)
		}
	}
	if n, ok := m["name"].(string); ok {
		m["name"] = strings.TrimSpace(n)
	}
	m.normalizeBundle()
	scripts, ok := m["scripts"].(map[string]any)
	if _, present := m["scripts"]; present && !ok {
		delete(m, "scripts")
	}
	if !ok {
		scripts = map[string]any{}
	}
	// A *.gyp file means "node-gyp rebuild" unless the package installs
	// itself; server.js means "node server.js" as the start script.
	if truthy(scripts["install"]) || truthy(scripts["preinstall"]) || m["gypfile"] == false {
	} else if slices.ContainsFunc(t.files, func(f string) bool { return !strings.Contains(f, "/") && strings.HasSuffix(f, ".gyp") }) {
		scripts["install"] = "node-gyp rebuild"
		m["gypfile"] = true
	}
	if !truthy(scripts["start"]) && t.has("server.js") {
		scripts["start"] = "node server.js"
	}
	for k, v := range scripts {
		s, ok := v.(string)
		if !ok {
			delete(scripts, k)
			continue
		}
		scripts[k] = stripBinPrefix(s)
	}
	if len(scripts) > 0 || ok {
		m["scripts"] = scripts
	}
	m.normalizeBin(t)
	m.normalizeDependencies()
	if d, ok := m["description"]; ok {
		if _, isString := d.(string); !isString {
			delete(m, "description")
		}
	}
}

// truthy is JavaScript's truthiness for JSON values.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case json.Number:
		f, err := v.Float64()
		return err != nil || f != 0
	}
	return true
}

// stripBinPrefix removes node_modules/.bin/ from the start of a script.
func stripBinPrefix(s string) string {
	for _, p := range []string{"./node_modules/.bin/", ".\\node_modules\\.bin\\", "node_modules/.bin/", "node_modules\\.bin\\",
		"./node_modules/.bin\\", "node_modules/.bin\\", "node_modules\\.bin/", ".\\node_modules/.bin/"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest
		}
	}
	return s
}

// normalizeBundle makes bundleDependencies a list of dependency names.
func (m manifest) normalizeBundle() {
	if _, ok := m["bundleDependencies"]; !ok {
		if bd, ok := m["bundledDependencies"]; ok {
			m["bundleDependencies"] = bd
		}
	}
	delete(m, "bundledDependencies")
	bd, present := m["bundleDependencies"]
	if !present {
		return
	}
	var names []string
	switch bd := bd.(type) {
	case bool:
		if !bd {
			delete(m, "bundleDependencies")
			return
		}
		deps, _ := m["dependencies"].(map[string]any)
		for k := range deps {
			names = append(names, k)
		}
		sort.Strings(names)
	case map[string]any:
		for k := range bd {
			names = append(names, k)
		}
		sort.Strings(names)
	case []any:
		for _, x := range bd {
			if s, ok := x.(string); ok && s != "" {
				names = append(names, s)
			}
		}
	default:
		delete(m, "bundleDependencies")
		return
	}
	out := make([]any, len(names))
	deps, ok := m["dependencies"].(map[string]any)
	for i, n := range names {
		out[i] = n
		if !ok {
			deps, ok = map[string]any{}, true
			m["dependencies"] = deps
		}
		if _, has := deps[n]; !has {
			deps[n] = "*"
		}
	}
	m["bundleDependencies"] = out
}

// normalizeBin makes bin an object of command name → relative path, as
// npm-normalize-package-bin does, or expands directories.bin.
func (m manifest) normalizeBin(t *tarball) {
	bin, present := m["bin"]
	if !present {
		dirs, _ := m["directories"].(map[string]any)
		if dir, ok := dirs["bin"].(string); ok {
			if b := expandBinDir(secureRelPath(dir), t); len(b) > 0 {
				m["bin"] = b
			}
		}
		return
	}
	out := map[string]any{}
	switch b := bin.(type) {
	case string:
		if name, ok := m["name"].(string); ok && name != "" {
			bin = map[string]any{name: b}
		}
	case []any:
		obj := map[string]any{}
		for _, x := range b {
			if s, ok := x.(string); ok {
				obj[nodeBasename(s)] = s
			}
		}
		bin = obj
	}
	obj, ok := bin.(map[string]any)
	if !ok {
		delete(m, "bin")
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		target, ok := obj[k].(string)
		if !ok {
			continue
		}
		base := nodeBasename(secureRelPath(k))
		target = secureRelPath(target)
		if base == "" || target == "" {
			continue
		}
		out[base] = target
	}
	if len(out) == 0 {
		delete(m, "bin")
		return
	}
	m["bin"] = out
}

// expandBinDir lists the files below dir, as npm does for directories.bin.
func expandBinDir(dir string, t *tarball) map[string]any {
	if dir == "" {
		return nil
	}
	out := map[string]any{}
	seen := map[string]bool{}
	for _, f := range t.files {
		rest, ok := strings.CutPrefix(f, dir+"/")
		if !ok {
			continue
		}
		// glob("**") lists the directories on the way, too, but skips
		// anything hidden.
		parts := strings.Split(rest, "/")
		for i := range parts {
			p := strings.Join(parts[:i+1], "/")
			if strings.HasPrefix(parts[i], ".") {
				break
			}
			if !seen[p] {
				seen[p] = true
				out[path.Base(p)] = dir + "/" + secureRelPath(p)
			}
		}
	}
	return out
}

// secureRelPath is npm's secureAndUnixifyPath: the path with '\' and ':'
// as '/', made relative and unable to leave its root; "" if nothing is left.
func secureRelPath(ref string) string {
	u := strings.NewReplacer(`\`, "/", ":", "/").Replace(ref)
	p := strings.TrimPrefix(path.Join("/", u), "/")
	if p == "" {
		return ""
	}
	if strings.HasSuffix(u, "/") {
		p += "/"
	}
	return p
}

// nodeBasename is Node's path.posix.basename.
func nodeBasename(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// normalizeDependencies applies npm's fixDependencies step: dependency
// lists written as strings or arrays become objects, and dependencies
// and devDependencies keep only string values.
func (m manifest) normalizeDependencies() {
	for _, kind := range []string{"dependencies", "devDependencies", "optionalDependencies"} {
		var list []any
		switch v := m[kind].(type) {
		case string:
			for _, f := range strings.FieldsFunc(strings.TrimSpace(v), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
				list = append(list, f)
			}
		case []any:
			list = v
		default:
			continue
		}
		obj := map[string]any{}
		for _, d := range list {
			s, ok := d.(string)
			if !ok {
				continue
			}
			s = strings.TrimSpace(s)
			i := strings.IndexAny(s, "@ \t\n\r><=")
			if i < 0 {
				obj[s] = ""
				continue
			}
			obj[strings.TrimSuffix(s[:i], ":")] = strings.TrimSpace(strings.TrimPrefix(s[i:], "@"))
		}
		m[kind] = obj
	}
	for _, kind := range []string{"dependencies", "devDependencies"} {
		v, present := m[kind]
		if !present {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			delete(m, kind)
			continue
		}
		for k, x := range obj {
			if _, ok := x.(string); !ok {
				delete(obj, k)
			}
		}
	}
}

// installScripts are the lifecycle scripts npm runs on install.
var installScripts = []string{"preinstall", "install", "postinstall"}

// hasInstallScript reports whether installing the package runs code:
// an install script, or a binding.gyp npm builds with node-gyp.
func (m manifest) hasInstallScript(t *tarball) bool {
	scripts, _ := m["scripts"].(map[string]any)
	for _, s := range installScripts {
		if truthy(scripts[s]) {
			return true
		}
	}
	return t.has("binding.gyp") && m["gypfile"] != false
}

// derive returns the manifest Trove stores and serves for a version: the
// tarball's package.json, normalized, with the registry's own fields.
// Nothing in it comes from the publish request.
func derive(pkgJSON manifest, t *tarball, d blob.Digests, who *access.Principal, version string) ([]byte, error) {
	m := manifest{}
	for k, v := range pkgJSON {
		m[k] = v
	}
	m.normalize(t)
	name := m["name"].(string)
	m["version"] = version
	m["_id"] = name + "@" + version
	m["dist"] = map[string]any{
		"shasum":       d.SHA1,
		"integrity":    d.Integrity(),
		"fileCount":    len(t.files),
		"unpackedSize": t.unpackedSize,
	}
	// Names only: an address is private, and whether it may be shown is
	// decided when the document is rendered (see versionDoc). A release
	// rebuilt from the log (who is nil) has no known publisher.
	if who != nil {
		user := map[string]any{"name": who.UserName}
		m["_npmUser"] = user
		m["maintainers"] = []any{user}
	}
	if m.hasInstallScript(t) {
		m["hasInstallScript"] = true
	} else {
		delete(m, "hasInstallScript")
	}
	m["_hasShrinkwrap"] = t.has("npm-shrinkwrap.json")
	readme, isString := m["readme"].(string)
	switch {
	case isString && readme != "":
		if len(readme) > MaxReadmeSize {
			m["readme"] = validUTF8Prefix([]byte(readme[:MaxReadmeSize]))
		}
	case t.readmeFilename != "":
		m["readme"], m["readmeFilename"] = t.readme, t.readmeFilename
	default:
		delete(m, "readme")
	}
	if _, ok := m["description"]; !ok {
		if r, _ := m["readme"].(string); r != "" {
			m["description"] = extractDescription(r)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// extractDescription is npm's description from a readme: the first
// paragraph that is not a heading.
func extractDescription(readme string) string {
	lines := strings.Split(strings.TrimSpace(readme), "\n")
	start := 0
	for start < len(lines) && (strings.TrimSpace(lines[start]) == "" || strings.HasPrefix(strings.TrimSpace(lines[start]), "#")) {
		start++
	}
	end := start + 1
	for end < len(lines) && strings.TrimSpace(lines[end]) != "" {
		end++
	}
	if start >= len(lines) {
		return ""
	}
	d := strings.TrimSpace(strings.Join(lines[start:min(end, len(lines))], " "))
	if len(d) > 1024 {
		d = validUTF8Prefix([]byte(d[:1024]))
	}
	return d
}

// confusionFields are the manifest fields that change what installing a
// version does; a publish request must agree with its tarball on them.
var confusionFields = []string{
	"dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta",
	"bundleDependencies", "acceptDependencies", "bin", "scripts", "os", "cpu", "libc", "engines", "main",
}

// dependencyFields hold name → version spec maps.
var dependencyFields = map[string]bool{"dependencies": true, "devDependencies": true, "optionalDependencies": true,
	"peerDependencies": true, "acceptDependencies": true}

// confusion compares the manifest of a publish request with the one
// derived from the tarball, both normalized, and names the first field
// on which they disagree ("manifest confusion": registries that served
// the request's manifest let it claim other dependencies or scripts than
// the tarball installs).
//
// Two differences are npm's own doing and accepted: git and URL specs that
// npm rewrote into its canonical form (github:user/repo for user/repo),
// and the install and start scripts npm adds for a *.gyp or server.js it
// saw on disk but that the package's "files" left out of the tarball.
func confusion(sent, derived manifest) error {
	for _, f := range confusionFields {
		a, b := sent[f], derived[f]
		if empty(a) && empty(b) {
			continue
		}
		switch {
		case dependencyFields[f]:
			if field := depsDiffer(f, a, b); field != "" {
				return confusionError(field)
			}
		case f == "scripts":
			if field := scriptsDiffer(a, b); field != "" {
				return confusionError(field)
			}
		case !jsonEqual(a, b):
			return confusionError(f)
		}
	}
	return nil
}

func confusionError(field string) error {
	return trove.Error(trove.ErrInvalid, "the manifest in the publish request disagrees with the package.json in the tarball on %s; "+
		"Trove serves what the tarball says, so the two must agree (manifest confusion): publish the tarball's own package.json", field)
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// depsDiffer returns the first dependency on which two dependency maps
// disagree, as field["name"], or "".
func depsDiffer(field string, a, b any) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	aok, bok = aok || a == nil, bok || b == nil
	if !aok || !bok {
		if jsonEqual(a, b) {
			return ""
		}
		return field
	}
	for _, n := range unionKeys(am, bm) {
		x, xok := am[n]
		y, yok := bm[n]
		if xok && yok && (jsonEqual(x, y) || hostedSpec(x) && hostedSpec(y)) {
			continue
		}
		return fmt.Sprintf("%s[%q]", field, n)
	}
	return ""
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys(a, b map[string]any) []string {
	names := make([]string, 0, len(a)+len(b))
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// hostedSpec reports whether a dependency spec is a git, URL or path spec,
// which npm may rewrite when publishing, rather than a registry range,
// tag or alias, which it never does.
func hostedSpec(v any) bool {
	s, ok := v.(string)
	return ok && !strings.HasPrefix(s, "npm:") && strings.ContainsAny(s, "/:")
}

// scriptsDiffer returns the first script on which two script maps disagree.
func scriptsDiffer(a, b any) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok && !empty(a) || !bok && !empty(b) {
		return "scripts"
	}
	for _, n := range unionKeys(am, bm) {
		x, xok := am[n]
		y, yok := bm[n]
		switch {
		case xok && yok && jsonEqual(x, y):
			continue
		case xok && !yok && n == "install" && x == "node-gyp rebuild" && !truthy(bm["preinstall"]):
			continue
		case xok && !yok && n == "start" && x == "node server.js":
			continue
		}
		return fmt.Sprintf("scripts[%q]", n)
	}
	return ""
}
