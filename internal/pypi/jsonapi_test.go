package pypi

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/crypto/blake2b"
)

type jsonDoc struct {
	Info            map[string]any        `json:"info"`
	LastSerial      int64                 `json:"last_serial"`
	Releases        map[string][]jsonFile `json:"releases"`
	URLs            []jsonFile            `json:"urls"`
	Vulnerabilities []any                 `json:"vulnerabilities"`
}

func (e *testEnv) getJSON(t *testing.T, path string) (jsonDoc, string) {
	t.Helper()
	r := e.get(t, path)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s %s\n%s", path, r.Status, r.Header.Get("Content-Type"), r.body)
	}
	var d jsonDoc
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	return d, r.body
}

func TestJSONAPI(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "Demo", "1.0", "Requires-Python: >=3.8", "Requires-Dist: requests>=2", "Home-page: https://example.test",
		"Project-URL: Source, https://example.test/src", "Classifier: Typing :: Typed", "Author: Alice", "License-Expression: MIT")
	e.uploadSdist(t, "Demo", "1.0")
	e.uploadWheel(t, "Demo", "2.0b1")
	e.uploadWheel(t, "Demo", "1.1")
	if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: "1.1"}, "broken"); err != nil {
		t.Fatal(err)
	}

	// The project document describes the latest non-yanked final release.
	d, raw := e.getJSON(t, "/pypi/Demo/json")
	p, _ := e.Registry.Project(context.Background(), trove.PyPI, "demo")
	if d.Info["version"] != "1.0" || d.Info["name"] != "Demo" || d.LastSerial != p.Package.LastSerial || d.LastSerial == 0 {
		t.Errorf("info version %v, name %v, last_serial %d (package %d)", d.Info["version"], d.Info["name"], d.LastSerial, p.Package.LastSerial)
	}
	if d.Vulnerabilities == nil || len(d.Vulnerabilities) != 0 || !strings.Contains(raw, `"vulnerabilities":[]`) {
		t.Errorf("vulnerabilities: %v", d.Vulnerabilities)
	}
	wantInfo := map[string]any{
		"requires_python": ">=3.8", "requires_dist": []any{"requests>=2"}, "home_page": "https://example.test",
		"project_urls": map[string]any{"Homepage": "https://example.test", "Source": "https://example.test/src"},
		"classifiers":  []any{"Typing :: Typed"}, "author": "Alice", "license_expression": "MIT", "yanked": false,
		"yanked_reason": nil, "summary": "The Demo project", "description": "# Demo\n\nA test project.\n",
		"release_url": e.url + "/pypi/demo/1.0/json",
	}
	for k, want := range wantInfo {
		if !cmp.Equal(d.Info[k], want) {
			t.Errorf("info[%s] = %#v, want %#v", k, d.Info[k], want)
		}
	}
	if got := slices.Sorted(maps.Keys(d.Releases)); !cmp.Equal(got, []string{"1.0", "1.1", "2.0b1"}) {
		t.Errorf("releases %v", got)
	}
	if len(d.URLs) != 2 || len(d.Releases["1.0"]) != 2 {
		t.Fatalf("urls %d, releases[1.0] %d; want the 2 files of 1.0", len(d.URLs), len(d.Releases["1.0"]))
	}
	if y := d.Releases["1.1"][0]; !y.Yanked || y.YankedReason == nil || *y.YankedReason != "broken" {
		t.Errorf("yanked file: yanked %v, reason %v", y.Yanked, y.YankedReason)
	}
	var wf jsonFile
	for _, f := range d.URLs {
		if f.PackageType == kindWheel {
			wf = f
		}
	}
	m5 := md5.Sum(w)
	b2 := blake2b.Sum256(w)
	rp := ">=3.8"
	wantFile := jsonFile{
		CoreMetadata: map[string]any{"sha256": sha([]byte(metadataFor("Demo", "1.0", "Requires-Python: >=3.8", "Requires-Dist: requests>=2", "Home-page: https://example.test",
			"Project-URL: Source, https://example.test/src", "Classifier: Typing :: Typed", "Author: Alice", "License-Expression: MIT")))},
		Digests:     map[string]string{"md5": hex.EncodeToString(m5[:]), "sha256": sha(w), "blake2b_256": hex.EncodeToString(b2[:])},
		Downloads:   -1,
		Filename:    "demo-1.0-py3-none-any.whl",
		MD5Digest:   hex.EncodeToString(m5[:]),
		PackageType: kindWheel, PythonVersion: "py3", RequiresPython: &rp, Size: int64(len(w)),
		URL: e.url + "/packages/" + sha(w) + "/demo-1.0-py3-none-any.whl",
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`).MatchString(wf.UploadTime) ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$`).MatchString(wf.UploadTimeISO8601) ||
		!strings.HasPrefix(wf.UploadTimeISO8601, wf.UploadTime) {
		t.Errorf("upload_time %q, upload_time_iso_8601 %q", wf.UploadTime, wf.UploadTimeISO8601)
	}
	wf.UploadTime, wf.UploadTimeISO8601 = "", ""
	if diff := cmp.Diff(wantFile, wf); diff != "" {
		t.Errorf("wheel entry mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(raw, `"has_sig":false`) || !strings.Contains(raw, `"comment_text":""`) {
		t.Errorf("file entries lack has_sig or comment_text")
	}

	// A release document: that release's info and files, no releases.
	d, raw = e.getJSON(t, "/pypi/demo/1.1.0/json")
	if d.Info["version"] != "1.1" || d.Info["yanked"] != true || d.Info["yanked_reason"] != "broken" || len(d.URLs) != 1 ||
		strings.Contains(raw, `"releases"`) {
		t.Errorf("release document: info %v, %d urls\n%s", d.Info, len(d.URLs), raw)
	}
	for _, path := range []string{"/pypi/demo/9.9/json", "/pypi/demo/x.y/json", "/pypi/nope/json", "/pypi/nope/1.0/json"} {
		if r := e.get(t, path); r.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", path, r.Status)
		}
	}
}

// TestJSONAPILatest checks which release the project document shows.
func TestJSONAPILatest(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "demo", "2.0rc1")
	if d, _ := e.getJSON(t, "/pypi/demo/json"); d.Info["version"] != "2.0rc1" {
		t.Errorf("only a pre-release: version %v", d.Info["version"])
	}
	e.uploadWheel(t, "demo", "1.0")
	if d, _ := e.getJSON(t, "/pypi/demo/json"); d.Info["version"] != "1.0" {
		t.Errorf("a final release and a newer pre-release: version %v, want 1.0", d.Info["version"])
	}
	for _, v := range []string{"1.0", "2.0rc1"} {
		if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: v}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := e.getJSON(t, "/pypi/demo/json"); d.Info["version"] != "2.0rc1" || d.Info["yanked"] != true {
		t.Errorf("everything yanked: version %v yanked %v, want the latest, 2.0rc1", d.Info["version"], d.Info["yanked"])
	}
	if err := e.Registry.Unyank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.getJSON(t, "/pypi/demo/json"); d.Info["version"] != "1.0" || d.Info["yanked"] != false {
		t.Errorf("after unyanking 1.0: version %v yanked %v", d.Info["version"], d.Info["yanked"])
	}
}
