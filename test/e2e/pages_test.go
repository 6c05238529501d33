//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/trove-dev/trove/internal/archive/archivetest"
)

// hostileReadme tries every way a README could run script in a page.
const hostileReadme = "# Demo <script>document.title='pwned'</script>\n\n" +
	"<img src=x onerror=\"document.title='pwned'\">\n\n" +
	"[click](javascript:document.title='pwned')\n\n" +
	"<a href=\"/-/account/tokens\" id=\"main\">relative</a>\n\n" +
	"![logo](https://images.example/logo.png)\n\n" +
	"Safe **bold** text.\n"

// publishHostile publishes an npm package whose description, keywords
// and README are hostile, and returns its tarball's sha256.
func publishHostile(t *testing.T, tr *Trove, token, name, version string) string {
	t.Helper()
	pkg, _ := json.Marshal(map[string]any{"name": name, "version": version, "license": "MIT",
		"description": `<script>document.title="pwned"</script> a demo`,
		"keywords":    []string{`<img src=x onerror=alert(1)>`, "demo"}})
	tgz := archivetest.TarGz(t, archivetest.TarEntry{Name: "package/package.json", Body: string(pkg)},
		archivetest.TarEntry{Name: "package/README.md", Body: hostileReadme})
	s512, s1, s256 := sha512.Sum512(tgz), sha1.Sum(tgz), sha256.Sum256(tgz)
	var manifest map[string]any
	json.Unmarshal(pkg, &manifest)
	manifest["_id"] = name + "@" + version
	manifest["readme"] = hostileReadme
	manifest["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		"shasum": hex.EncodeToString(s1[:]), "tarball": tr.URL + "/npm/" + name + "/-/" + name + "-" + version + ".tgz"}
	body, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	req, _ := http.NewRequest("PUT", tr.URL+"/npm/"+name, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		t.Fatalf("publishing %s@%s: %s %s", name, version, resp.Status, b)
	}
	return hex.EncodeToString(s256[:])
}

// inert fails if a page, parsed as a browser tokenizes it, has a script
// other than the server's own file, an event handler attribute, an
// image, or a javascript: URL.
func inert(t *testing.T, page string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data == "img" || tok.Data == "iframe" || tok.Data == "object" || tok.Data == "embed" {
			t.Errorf("page has an element <%s>", tok.Data)
		}
		for _, a := range tok.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcdoc":
				t.Errorf("page has <%s %s=%q>", tok.Data, a.Key, a.Val)
			case (a.Key == "href" || a.Key == "src" || a.Key == "action") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")):
				t.Errorf("page has <%s %s=%q>", tok.Data, a.Key, a.Val)
			case tok.Data == "script" && a.Key == "src" && !strings.HasPrefix(a.Val, "/-/static/"):
				t.Errorf("page has a script from %q", a.Val)
			}
		}
		if tok.Data == "script" && len(tok.Attr) == 0 {
			t.Errorf("page has an inline script")
		}
	}
}

func getPage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPackagePageHostile publishes packages with hostile metadata and
// checks the package page: versions, digests, log link and README shown,
// nothing executable, and the page current after a new release, a yank
// and a dependent's publish.
func TestPackagePageHostile(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "*", "read,publish,yank")
	sum := publishHostile(t, tr, token, "xss-demo", "1.0.0")

	status, body := getPage(t, tr.URL+"/-/package/npm/xss-demo")
	if status != 200 {
		t.Fatalf("GET package page: %d\n%s", status, body)
	}
	for _, want := range []string{"1.0.0", sum, "sha512", `href="/log/lookup/npm/xss-demo/1.0.0"`, `publish: <a class="log-record" href="/-/log/`,
		"<strong>bold</strong>", `id="user-content-main"`, "npm install xss-demo@1.0.0 --registry " + tr.URL + "/npm/",
		"&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt; a demo", "alice",
		`<a href="https://images.example/logo.png" class="readme-image" rel="nofollow noreferrer">logo</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("package page lacks %q", want)
		}
	}
	inert(t, body)
	for _, bad := range []string{"<script>document", "javascript:", "<img", `href="/-/account/tokens"`, "alice@example.test"} {
		if strings.Contains(body, bad) {
			t.Errorf("package page contains %q", bad)
		}
	}
	// A new version, then a yank: the cached page follows.
	publishHostile(t, tr, token, "xss-demo", "1.1.0")
	if _, body = getPage(t, tr.URL+"/-/package/npm/xss-demo"); !strings.Contains(body, "xss-demo@1.1.0") {
		t.Errorf("package page after 1.1.0 does not install 1.1.0")
	}
	if status, body = getPage(t, tr.URL+"/-/package/npm/xss-demo@1.0.0"); status != 200 || !strings.Contains(body, "Files of 1.0.0") {
		t.Errorf("version page: %d", status)
	}
	if status, _ = getPage(t, tr.URL+"/-/package/npm/xss-demo@9.9.9"); status != 404 {
		t.Errorf("page of a missing version: %d, want 404", status)
	}
	if status, _ = getPage(t, tr.URL+"/-/package/npm/no-such-package"); status != 404 {
		t.Errorf("page of a missing package: %d, want 404", status)
	}
	// Search, and the home page's recent releases.
	if _, body = getPage(t, tr.URL+"/-/search?q=XSS"); !strings.Contains(body, `href="/-/package/npm/xss-demo"`) {
		t.Errorf("search for XSS does not find xss-demo:\n%s", body)
	}
	if _, body = getPage(t, tr.URL+"/-/search?q=%3Cscript%3E"); strings.Contains(body, "<script>") {
		t.Errorf("search page reflects the query unescaped")
	}
	if _, body = getPage(t, tr.URL+"/"); !strings.Contains(body, `href="/-/package/npm/xss-demo@1.1.0"`) {
		t.Errorf("home page does not list xss-demo 1.1.0")
	}
}
