package authz

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
)

// Private packages (docs/private-packages.md): every read route naming a
// package, of every adapter, the API and the web, answers for a private
// package exactly as for a name never published (status, content type and
// body, the name substituted) to everyone who may not read it, and
// serves it to its readers. The routes come from the route tables (every
// Open GET route, and every GET route needing a credential whose path
// names a package): a new read route fails
// TestPrivateReadsAnswerAsNeverPublished until it has a probe here, or is
// listed among those naming no package.

// The private package, in every ecosystem (Go: example.test/privpkg), and
// the name never published it is compared with. Both are as long, and
// neither is part of the other or of anything else a page shows.
const (
	privName  = "privpkg"
	neverName = "nopepkg"
)

// The callers who must get the answer of a name never published, and
// those who must be served.
const (
	outsider       = "an outsider's full token"
	readerNoRead   = "a reader's token without read-private"
	ownerElsewhere = "the owner's token scoped to another package"
	reader         = "a reader's token with read-private"
	owner          = "the owner's full token"
)

// A privateProbe reads what a route serves about the package named n
// (privName or neverName): the paths of its requests.
type privateProbe func(w *walk, n string) []string

// goName is the Go module of a name.
func goName(n string) string { return "example.test/" + n }

// privateProbes are the requests of every Open route naming a package,
// by "mount.route".
var privateProbes = map[string]privateProbe{
	"npm.packument":            func(w *walk, n string) []string { return []string{"/npm/" + n} },
	"npm.tarball":              func(w *walk, n string) []string { return []string{"/npm/" + n + "/-/" + n + "-1.0.0.tgz"} },
	"npm.disttags":             func(w *walk, n string) []string { return []string{"/npm/-/package/" + n + "/dist-tags"} },
	"npm.access.collaborators": func(w *walk, n string) []string { return []string{"/npm/-/package/" + n + "/collaborators"} },
	"npm.access.visibility":    func(w *walk, n string) []string { return []string{"/npm/-/package/" + n + "/visibility"} },
	// A name not normalized redirects to the normalized one.
	"pypi.redirect": func(w *walk, n string) []string {
		return []string{"/pypi/simple/" + strings.ToUpper(n[:1]) + n[1:] + "/"}
	},
	"pypi.project": func(w *walk, n string) []string { return []string{"/pypi/simple/" + n + "/"} },
	// The private file's digest, with the name's file.
	"pypi.file": func(w *walk, n string) []string {
		return []string{"/pypi/packages/" + w.privSHA + "/" + n + "-1.0-py3-none-any.whl"}
	},
	"pypi.metadata": func(w *walk, n string) []string {
		return []string{"/pypi/packages/" + w.privSHA + "/" + n + "-1.0-py3-none-any.whl.metadata"}
	},
	"pypi.json": func(w *walk, n string) []string {
		return []string{"/pypi/pypi/" + n + "/json", "/pypi/pypi/" + n + "/1.0/json"}
	},
	"go.list":   func(w *walk, n string) []string { return []string{"/go/" + goName(n) + "/@v/list"} },
	"go.info":   func(w *walk, n string) []string { return []string{"/go/" + goName(n) + "/@v/v1.0.0.info"} },
	"go.latest": func(w *walk, n string) []string { return []string{"/go/" + goName(n) + "/@latest"} },
	"go.download": func(w *walk, n string) []string {
		return []string{"/go/" + goName(n) + "/@v/v1.0.0.mod", "/go/" + goName(n) + "/@v/v1.0.0.zip"}
	},
	"go.sumdb": func(w *walk, n string) []string {
		return []string{"/go/sumdb/" + logName + "/lookup/" + goName(n) + "@v1.0.0"}
	},
	"api.owners":          func(w *walk, n string) []string { return apiPaths(n, "owners") },
	"api.policy":          func(w *walk, n string) []string { return apiPaths(n, "policy") },
	"api.access":          func(w *walk, n string) []string { return apiPaths(n, "access") },
	"api.review":          func(w *walk, n string) []string { return apiPaths(n, "review") },
	"api.publishers.list": func(w *walk, n string) []string { return apiPaths(n, "publishers") },
	"api.scan.summary":    func(w *walk, n string) []string { return releasePaths(n, "scan") },
	"api.scan.findings":   func(w *walk, n string) []string { return releasePaths(n, "findings") },
	"web.package": func(w *walk, n string) []string {
		return []string{"/web/-/package/npm/" + n, "/web/-/package/npm/" + n + "@1.0.0", "/web/-/package/pypi/" + n,
			"/web/-/package/go/" + goName(n) + "@v1.0.0"}
	},
}

// apiPaths are the API's paths of the name's packages.
func apiPaths(n, what string) []string {
	return []string{"/api/v1/packages/npm/" + n + "/" + what, "/api/v1/packages/pypi/" + n + "/" + what,
		"/api/v1/packages/go/" + url.PathEscape(goName(n)) + "/" + what}
}

// releasePaths are the API's paths of the name's releases.
func releasePaths(n, what string) []string {
	return []string{"/api/v1/packages/npm/" + n + "/1.0.0/" + what, "/api/v1/packages/pypi/" + n + "/1.0/" + what,
		"/api/v1/packages/go/" + url.PathEscape(goName(n)) + "/v1.0.0/" + what}
}

// A listProbe reads a route that lists packages: for anyone but its
// readers the list must not name the hidden package (the readers' answer
// is only asked not to fail: some lists show no private package to
// anyone, and npm's lists of a team's or a user's packages are not served
// yet).
type listProbe struct {
	path   string
	hidden string
}

// listProbes are the Open routes listing packages.
var listProbes = map[string]listProbe{
	"npm.search":               {"/npm/-/v1/search?text=" + privName, privName},
	"npm.access.user.packages": {"/npm/-/user/alice/package", privName},
	"npm.access.team.packages": {"/npm/-/team/acme/core/package", "privorg"},
	"npm.access.packages":      {"/npm/-/org/acme/package", "privorg"},
	"pypi.index":               {"/pypi/simple/", privName},
	"web.home":                 {"/web/", privName},
	"web.search":               {"/web/-/search?q=" + privName, "/-/package/npm/" + privName}, // the page repeats the query
}

// reads reports whether the walk reads r: every Open GET route, and the
// GET routes needing a credential whose path names a package or that list
// packages.
func reads(r adapter.Route) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch r.Access {
	case adapter.Open:
		return true
	case adapter.Credential:
		// Routes naming a package, and lists of packages (npm access
		// list packages: /-/org/{org}/package, /-/team/{org}/{team}/package).
		return strings.Contains(r.Path, "{name}") || strings.Contains(r.Path, "{package}") || strings.Contains(r.Path, "{module}") ||
			strings.HasSuffix(r.Path, "/package")
	}
	return false
}

// ownersRead are the probed routes only owners read: a reader's token is
// refused there, as on a public package.
var ownersRead = map[string]bool{"api.review": true, "api.publishers.list": true, "api.scan.findings": true}

// takenNames are the read routes naming a package that answer for a
// private package as for any package the caller does not own, not as for a
// name never published, and why: a published name is taken, private or
// not (docs/private-packages.md).
var takenNames = map[string]string{}

// packageless are the Open routes that neither name nor list packages,
// and why.
var packageless = map[string]string{
	"npm.ping":                "answers that the registry is up",
	"pypi.oidc.audience":      "names the audience of trusted publishing's ID tokens",
	"api.upstream.exceptions": "lists the names exempted from upstream imports, an administrator's list of upstream names",
	"web.static":              "serves the interface's own stylesheets and scripts",
	"web.email-change":        "confirms an email change by the secret in its link",
	"web.verify-email":        "verifies an email address by the secret in its link",
	"web.log.record":          "shows a transparency log record by its index, not a package by name: the log decides what a private package's records show (docs/transparency-log.md)",
}

func TestPrivateReadsAnswerAsNeverPublished(t *testing.T) {
	w := newWalk(t)
	w.privatePackages()
	routes := map[string]bool{} // every read route, by name
	for _, m := range w.mounts {
		for _, r := range m.Adapter.Routes() {
			if reads(r) {
				routes[m.Ecosystem+"."+r.Name] = true
			}
		}
	}
	for _, r := range w.web.Routes() {
		if r.Access == adapter.Open && r.Method == http.MethodGet {
			routes["web."+r.Name] = true
		}
	}
	for name := range routes {
		_, p := privateProbes[name]
		_, l := listProbes[name]
		_, n := packageless[name]
		_, k := takenNames[name]
		if !p && !l && !n && !k {
			t.Errorf("the read route %s has no private package probe: add one to privateProbes (it names a package), listProbes (it lists packages) or packageless", name)
		}
	}
	for _, m := range []map[string]bool{keys(privateProbes), keys(listProbes), keys(packageless), keys(takenNames)} {
		for name := range m {
			if !routes[name] {
				t.Errorf("%s names no read route", name)
			}
		}
	}
	deny := []string{anonymous, outsider, readerNoRead, ownerElsewhere}
	for _, name := range slices.Sorted(maps.Keys(privateProbes)) {
		t.Run(name, func(t *testing.T) {
			probe := privateProbes[name]
			never := probe(w, neverName)
			for i, path := range probe(w, privName) {
				// The readers first: what they were served may now be
				// cached.
				for _, caller := range []string{reader, owner} {
					if caller == reader && ownersRead[name] {
						continue
					}
					never := w.get(never[i], w.privCallers[caller])
					if got := w.get(path, w.privCallers[caller]); got.status >= 400 || got == never {
						t.Errorf("GET %s with %s = %d %s, want it served:\n%s", path, caller, got.status, got.contentType, got.body)
					}
				}
				for _, caller := range deny {
					want := w.get(never[i], w.privCallers[caller])
					want.body = strings.NewReplacer(neverName, privName, "Nopepkg", "Privpkg").Replace(want.body)
					got := w.get(path, w.privCallers[caller])
					if got != want {
						t.Errorf("GET %s with %s = %d %s\n%s\nwant the answer of a name never published: %d %s\n%s",
							path, caller, got.status, got.contentType, got.body, want.status, want.contentType, want.body)
					}
				}
			}
		})
	}
	for _, name := range slices.Sorted(maps.Keys(listProbes)) {
		t.Run(name, func(t *testing.T) {
			p := listProbes[name]
			if got := w.get(p.path, w.privCallers[reader]); got.status >= 500 {
				t.Errorf("GET %s with %s = %d", p.path, reader, got.status)
			}
			for _, caller := range deny {
				if got := w.get(p.path, w.privCallers[caller]); got.status >= 500 || strings.Contains(got.body, p.hidden) {
					t.Errorf("GET %s with %s = %d, naming %s:\n%s", p.path, caller, got.status, p.hidden, got.body)
				}
			}
		})
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// privatePackages has alice publish privpkg in every ecosystem and make
// it private, with carol a reader of it, and the organisation acme's
// privorg private with its team core a reader; and mints the callers'
// tokens. The log is signed, so the checksum database serves the records.
func (w *walk) privatePackages() {
	t := w.t
	w.do(w.npmPublish(privName, "1.0.0"), w.owner)
	w.do(w.pypiWheel(privName, "1.0"), w.owner)
	w.do(w.goUpload(goName(privName), "v1.0.0"), w.owner)
	alice := w.ownerPrincipal()
	for eco, name := range map[trove.Ecosystem]string{trove.NPM: privName, trove.PyPI: privName, trove.Go: goName(privName)} {
		if err := w.env.Registry.SetPrivate(ctx, alice, eco, name, true); err != nil {
			t.Fatal(err)
		}
		if err := w.env.Registry.Apply(ctx, alice, eco, name, registry.Grant{User: "carol", Role: "reader"}); err != nil {
			t.Fatal(err)
		}
		// A trusted publisher, which its owners list.
		if _, err := w.trust.Add(ctx, alice, eco, name, trust.Spec{Issuer: "github", Repository: "acme/priv", RepositoryOwnerID: "1", Workflow: "release.yml"}); err != nil {
			t.Fatal(err)
		}
	}
	acme(w)
	w.do(w.npmPublish("privorg", "1.0.0"), w.owner)
	if err := w.env.Registry.Transfer(ctx, alice, trove.NPM, "privorg", registry.Transfer{Org: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Registry.Apply(ctx, alice, trove.NPM, "privorg", registry.TeamGrant{Team: "core", Role: "reader"}); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Registry.SetPrivate(ctx, alice, trove.NPM, "privorg", true); err != nil {
		t.Fatal(err)
	}
	p, err := w.env.Registry.Project(ctx, trove.PyPI, privName)
	if err != nil || len(p.Files) != 1 {
		t.Fatalf("the private PyPI project: %v", err)
	}
	w.privSHA = p.Files[0].SHA256
	if _, err := w.log.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	w.privCallers = map[string]string{
		anonymous:      "",
		outsider:       w.callers[stranger],
		readerNoRead:   w.carolToken(nil, access.Read, access.Publish, access.Yank, access.Owners),
		ownerElsewhere: w.env.Token(t, w.alice, []string{"npm:other", "pypi:other", "go:example.test/other"}),
		reader:         w.carolToken(nil, access.Read, access.ReadPrivate),
		owner:          w.owner,
	}
}

// An answer is what a read answered.
type answer struct {
	status      int
	contentType string
	body        string
}

// get reads a path with the token ("" for none), following no redirect.
func (w *walk) get(path, token string) answer {
	w.t.Helper()
	req := w.raw(http.MethodGet, path, "", nil)
	if token != "" {
		if strings.HasPrefix(path, "/pypi/") {
			req.SetBasicAuth("__token__", token)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	r := servertest.Do(w.t, req)
	return answer{status: r.StatusCode, contentType: r.Header.Get("Content-Type"), body: r.Text}
}

// pypiWheel returns twine's upload of a wheel, whose metadata PyPI serves
// beside it (pypi.metadata).
func (w *walk) pypiWheel(name, version string) *http.Request {
	info := name + "-" + version + ".dist-info/"
	metadata := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	files := []archivetest.ZipEntry{{Name: name + "/__init__.py", Body: "\n"}, {Name: info + "METADATA", Body: metadata},
		{Name: info + "WHEEL", Body: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}}
	var record strings.Builder
	for _, f := range files {
		d := sha256.Sum256([]byte(f.Body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.Name, base64.RawURLEncoding.EncodeToString(d[:]), len(f.Body))
	}
	record.WriteString(info + "RECORD,,\n")
	whl := archivetest.Zip(w.t, append(files, archivetest.ZipEntry{Name: info + "RECORD", Body: record.String()})...)
	sum := sha256.Sum256(whl)
	var parts []servertest.Part
	for _, f := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", name}, {"version", version},
		{"filetype", "bdist_wheel"}, {"pyversion", "py3"}, {"metadata_version", "2.1"}, {"sha256_digest", hex.EncodeToString(sum[:])}} {
		parts = append(parts, servertest.Part{Name: f[0], Data: []byte(f[1])})
	}
	return w.form("/pypi/legacy/", append(parts, servertest.Part{Name: "content", Filename: name + "-" + version + "-py3-none-any.whl", Data: whl})...)
}

// TestPrivateAccessAPI: PUT …/access and PUT /orgs/ORG/private refuse
// bodies that do not say {"private": true|false} with a message, and
// callers who are not owners, changing nothing; the owner's change reads
// back.
func TestPrivateAccessAPI(t *testing.T) {
	w := newWalk(t) // alice owns npm demo
	acme(w)         // alice owns acme, carol reads it
	state := func() string {
		private, err := w.env.Registry.Private(ctx, trove.NPM, "demo")
		if err != nil {
			t.Fatal(err)
		}
		o, err := w.env.DB.OrgByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(private, o.PrivateDefault)
	}
	before := state()
	carol := w.carolToken(nil, access.Actions...)
	for _, tc := range []struct {
		path, body, token string
		status            int
		message           string
	}{
		{"/api/v1/packages/npm/demo/access", `{}`, w.owner, 400, `the request body needs {\"private\": true} or {\"private\": false}`}, // as JSON
		{"/api/v1/packages/npm/demo/access", `{"private": "yes"}`, w.owner, 400, "not the JSON object this endpoint takes"},
		{"/api/v1/packages/npm/demo/access", `{"private": true, "public": false}`, w.owner, 400, "unknown field"},
		{"/api/v1/packages/npm/demo/access", ``, w.owner, 400, "needs a JSON body"},
		{"/api/v1/packages/npm/demo/access", `{"private": true}`, "", 401, ""},
		{"/api/v1/packages/npm/demo/access", `{"private": true}`, w.callers[stranger], 403, "bob is not an owner of npm:demo"},
		{"/api/v1/packages/npm/demo/access", `{"private": true}`, w.callers[readOnly], 403, "owners"},
		{"/api/v1/packages/npm/nopepkg/access", `{"private": true}`, w.owner, 404, "package nopepkg not found"},
		{"/api/v1/orgs/acme/private", `{"private": 1}`, w.owner, 400, "not the JSON object this endpoint takes"},
		{"/api/v1/orgs/acme/private", `{"private": true}`, carol, 403, "only its owners may change it"},
		{"/api/v1/orgs/acme/private", `{"private": true}`, w.callers[stranger], 404, ""},
		{"/api/v1/orgs/nope/private", `{"private": true}`, w.owner, 404, ""},
	} {
		req := w.raw(http.MethodPut, tc.path, "application/json", []byte(tc.body))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		r := servertest.Do(t, req)
		if r.StatusCode != tc.status || !strings.Contains(r.Text, tc.message) {
			t.Errorf("PUT %s %s = %d %s, want %d with %q", tc.path, tc.body, r.StatusCode, r.Text, tc.status, tc.message)
		}
	}
	if after := state(); after != before {
		t.Fatalf("refused requests changed the state: %s → %s", before, after)
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/v1/packages/npm/demo/access", `"private":true`},
		{"/api/v1/orgs/acme/private", `{"name":"acme","private":true}`},
	} {
		req := w.raw(http.MethodPut, tc.path, "application/json", []byte(`{"private": true}`))
		req.Header.Set("Authorization", "Bearer "+w.owner)
		if r := servertest.Do(t, req); r.StatusCode != 200 || !strings.Contains(r.Text, tc.want) {
			t.Errorf("the owner's PUT %s = %d %s, want %s", tc.path, r.StatusCode, r.Text, tc.want)
		}
	}
	if got := state(); got != "true true" {
		t.Errorf("after the owner's changes: %s, want demo private and acme's new packages private", got)
	}
	// acme's next package starts private.
	w.do(w.npmPublish("@acme/fresh", "1.0.0"), w.owner)
	if private, err := w.env.Registry.Private(ctx, trove.NPM, "@acme/fresh"); err != nil || !private {
		t.Errorf("acme's new package: private %v, %v", private, err)
	}
}
