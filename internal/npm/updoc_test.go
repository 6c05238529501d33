package npm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/blob"
)

// upstreamDocOf returns an upstream's full packument of name with the
// versions given as version → extra fields of its document.
func upstreamDocOf(name string, tags map[string]string, versions map[string]map[string]any) []byte {
	vs := map[string]any{}
	times := map[string]any{"created": "2020-01-01T00:00:00.000Z"}
	for v, extra := range versions {
		doc := map[string]any{"name": name, "version": v, "readme": "long readme",
			"dist": map[string]any{"tarball": "http://up.example/" + name + "/-/x-" + v + ".tgz",
				"integrity": "sha512-up" + v, "shasum": "up" + v, "signatures": []any{map[string]any{"sig": "s"}}}}
		for k, x := range extra {
			doc[k] = x
		}
		vs[v] = doc
		times[v] = "2021-01-0" + v[:1] + "T00:00:00.000Z"
	}
	b, _ := json.Marshal(map[string]any{"name": name, "dist-tags": tags, "versions": vs, "time": times,
		"users": map[string]bool{"someone": true}, "_rev": "3-abc", "description": "d", "readme": "top readme"})
	return b
}

func TestParseUpstreamDoc(t *testing.T) {
	body := upstreamDocOf("left", map[string]string{"latest": "2.0.0"}, map[string]map[string]any{
		"1.0.0": nil, "2.0.0": {"scripts": map[string]string{"postinstall": "x"}}, "3.0.0": {"name": "other"},
	})
	d, err := parseUpstreamDoc("left", body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.sortedVersions(), []string{"1.0.0", "2.0.0"}; !cmp.Equal(got, want) {
		t.Errorf("versions = %v, want %v (3.0.0 names another package)", got, want)
	}
	if d.versions["1.0.0"].scripts || !d.versions["2.0.0"].scripts {
		t.Errorf("install scripts: 1.0.0 %v, 2.0.0 %v; want false, true", d.versions["1.0.0"].scripts, d.versions["2.0.0"].scripts)
	}
	if got := d.published("2.0.0").Format("2006-01-02"); got != "2021-01-02" {
		t.Errorf("published(2.0.0) = %s, want 2021-01-02", got)
	}
	if got := d.versionOfFile("left-2.0.0.tgz"); got != "2.0.0" {
		t.Errorf("versionOfFile(left-2.0.0.tgz) = %q, want 2.0.0", got)
	}
	for _, f := range []string{"left-3.0.0.tgz", "other-1.0.0.tgz", "left-1.0.0.tar", "left-9.tgz"} {
		if got := d.versionOfFile(f); got != "" {
			t.Errorf("versionOfFile(%s) = %q, want none", f, got)
		}
	}
}

func TestParseUpstreamDocErrors(t *testing.T) {
	for _, body := range []string{`[]`, `{"name":"other","versions":{}}`, `{"name":"left","versions":[]}`, `{`} {
		if _, err := parseUpstreamDoc("left", []byte(body)); err == nil {
			t.Errorf("parseUpstreamDoc(%s) = nil error, want one", body)
		}
	}
}

func FuzzParseUpstreamDoc(f *testing.F) {
	f.Add(upstreamDocOf("@s/left", map[string]string{"latest": "1.0.0"}, map[string]map[string]any{"1.0.0": nil}))
	f.Add([]byte(`{"name":"@s/left","versions":{"1.0.0":{"name":"@s/left","version":"1.0.0","dist":{"tarball":"x"}}},"dist-tags":{"latest":"1.0.0"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseUpstreamDoc("@s/left", body)
		if err != nil {
			return
		}
		pv := &proxyView{baseURL: "http://trove/npm"}
		r, err := pv.render(d)
		if err != nil {
			return
		}
		for _, b := range [][]byte{r.fullJSON(), r.abbreviatedJSON()} {
			if !json.Valid(b) {
				t.Fatalf("rendered document is not JSON: %s", b)
			}
		}
	})
}

func TestProxyViewRender(t *testing.T) {
	body := upstreamDocOf("left", map[string]string{"latest": "3.0.0", "next": "4.0.0-rc.1", "old": "1.0.0"},
		map[string]map[string]any{"1.0.0": nil, "2.0.0": nil, "3.0.0": nil, "4.0.0-rc.1": nil})
	d, err := parseUpstreamDoc("left", body)
	if err != nil {
		t.Fatal(err)
	}
	pv := &proxyView{baseURL: "http://trove/npm",
		blocked: map[string]string{"3.0.0": "cooldown", "4.0.0-rc.1": "cooldown"},
		seen:    map[string]firstSeen{"1.0.0": {Integrity: "sha512-kept", Shasum: "kept"}, "2.0.0": {Integrity: "sha512-up2.0.0", Shasum: "up2.0.0"}}}
	r, err := pv.render(d)
	if err != nil {
		t.Fatal(err)
	}
	var full struct {
		DistTags map[string]string `json:"dist-tags"`
		Time     map[string]string
		Users    any
		Rev      any `json:"_rev"`
		Readme   string
		Versions map[string]struct {
			Readme *string
			Dist   map[string]any
		}
	}
	if err := json.Unmarshal(r.fullJSON(), &full); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"latest": "2.0.0", "next": "2.0.0", "old": "1.0.0"}; !cmp.Equal(full.DistTags, want) {
		t.Errorf("dist-tags = %v, want %v (blocked versions' tags move down)", full.DistTags, want)
	}
	if len(full.Versions) != 2 || full.Time["3.0.0"] != "" || full.Time["2.0.0"] == "" {
		t.Errorf("versions %v, time %v: want 1.0.0 and 2.0.0 only", full.Versions, full.Time)
	}
	if full.Users != nil || full.Rev != nil || full.Readme != "top readme" {
		t.Errorf("top level: users %v, _rev %v, readme %q; want no users or _rev, the readme kept", full.Users, full.Rev, full.Readme)
	}
	v1, v2 := full.Versions["1.0.0"], full.Versions["2.0.0"]
	if v1.Readme != nil {
		t.Errorf("a version document kept its readme")
	}
	if got, want := v1.Dist["tarball"], "http://trove/npm/left/-/left-1.0.0.tgz"; got != want {
		t.Errorf("tarball = %v, want %v", got, want)
	}
	if v1.Dist["integrity"] != "sha512-kept" || v1.Dist["shasum"] != "kept" || v1.Dist["signatures"] != nil {
		t.Errorf("1.0.0 dist = %v, want the first-seen digests and no signatures (they sign other bytes)", v1.Dist)
	}
	if v2.Dist["integrity"] != "sha512-up2.0.0" || v2.Dist["signatures"] == nil {
		t.Errorf("2.0.0 dist = %v, want the unchanged digests with their signatures", v2.Dist)
	}
}

func TestProxyViewAbbreviated(t *testing.T) {
	body := upstreamDocOf("@s/left", map[string]string{"latest": "1.0.0"},
		map[string]map[string]any{"1.0.0": {"scripts": map[string]string{"install": "x"}, "description": "not in corgi"}})
	d, err := parseUpstreamDoc("@s/left", body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := (&proxyView{baseURL: "http://trove/npm"}).render(d)
	if err != nil {
		t.Fatal(err)
	}
	var corgi struct {
		Name     string
		Modified string
		Versions map[string]map[string]any
	}
	if err := json.Unmarshal(r.abbreviatedJSON(), &corgi); err != nil {
		t.Fatal(err)
	}
	v := corgi.Versions["1.0.0"]
	if corgi.Name != "@s/left" || corgi.Modified != "2021-01-01T00:00:00.000Z" || v["hasInstallScript"] != true || v["description"] != nil {
		t.Errorf("abbreviated = %+v, want name, modified, hasInstallScript and no description", corgi)
	}
	if got, want := v["dist"].(map[string]any)["tarball"], "http://trove/npm/@s/left/-/left-1.0.0.tgz"; got != want {
		t.Errorf("tarball = %v, want %v", got, want)
	}
}

func TestMoveTags(t *testing.T) {
	allowed := []string{"1.0.0", "1.1.0-beta.1", "1.2.0"}
	tests := []struct {
		tags, want map[string]string
	}{
		{map[string]string{"latest": "1.2.0"}, map[string]string{"latest": "1.2.0"}},
		{map[string]string{"latest": "2.0.0"}, map[string]string{"latest": "1.2.0"}},
		{map[string]string{"latest": "1.1.5"}, map[string]string{"latest": "1.0.0"}},
		{map[string]string{"latest": "0.9.0", "beta": "1.1.0-beta.1"}, map[string]string{"beta": "1.1.0-beta.1"}},
		{map[string]string{"bad": "not-a-version"}, map[string]string{}},
	}
	for _, tt := range tests {
		if got := moveTags(tt.tags, allowed, nil); !cmp.Equal(got, tt.want) {
			t.Errorf("moveTags(%v) = %v, want %v", tt.tags, got, tt.want)
		}
	}
}

func TestVerifyUpstream(t *testing.T) {
	h := blob.NewHasher()
	h.Write([]byte("tarball bytes"))
	d := h.Digests()
	other := blob.NewHasher()
	other.Write([]byte("other bytes"))
	o := other.Digests()
	tests := []struct {
		name              string
		integrity, shasum string
		wantErr           string
	}{
		{"both", d.Integrity(), d.SHA1, ""},
		{"sha512 only", d.Integrity(), "", ""},
		{"sha1 only", "", d.SHA1, ""},
		{"sha512 differs", o.Integrity(), d.SHA1, "does not match the upstream's dist.integrity (sha512)"},
		{"sha1 differs", d.Integrity(), o.SHA1, "does not match the upstream's dist.shasum"},
		{"neither", "", "", "cannot be verified"},
		{"unknown algorithm", "md5-abc", "", "has no sha512"},
		{"not base64", "sha512-!!!", "", "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyUpstream(&upstreamVersion{version: "1.0.0", integrity: tt.integrity, shasum: tt.shasum}, d)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("verifyUpstream = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
