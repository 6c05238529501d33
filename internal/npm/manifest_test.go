package npm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

func TestParsePackageJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // error substring; "" for success
	}{
		{`{"name":"demo","version":"1.0.0"}`, ""},
		{"\xef\xbb\xbf" + `{"name":"demo","version":"1.0.0"}`, ""},
		{`{"name":"@acme/demo","version":"v1.0.0"}`, ""},
		{`{"name":" demo ","version":" =1.0.0 "}`, ""},
		{`{"name":"demo","version":"1.0.0","n":1e400}`, ""},
		{``, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`"demo"`, "not a JSON object"},
		{`{"name":"demo","version":"1.0.0"} x`, "not a JSON object"},
		{`{"name":"demo","version":"1.0.0"`, "not a JSON object"},
		{"{\"name\":\"d\xffemo\",\"version\":\"1.0.0\"}", "not valid UTF-8"},
		{`{"version":"1.0.0"}`, `no "name"`},
		{`{"name":"","version":"1.0.0"}`, `no "name"`},
		{`{"name":"Demo","version":"1.0.0"}`, "uppercase"},
		{`{"name":"../evil","version":"1.0.0"}`, "package name"},
		{`{"name":"demo","version":1}`, `no "version"`},
		{`{"name":"demo","version":"1.0"}`, "not a valid semver"},
		{`{"name":"demo","version":"1.0.0","version":"x"}`, "not a valid semver"},
		{`{"name":"demo","version":"1.0.0","x":"` + strings.Repeat("y", MaxPackageJSONSize) + `"}`, "larger than"},
	} {
		_, err := parsePackageJSON([]byte(tc.in))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("parsePackageJSON(%.60q) = %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("parsePackageJSON(%.60q) = %v, want an error containing %q", tc.in, err, tc.want)
		case err != nil && !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge):
			t.Errorf("parsePackageJSON(%.60q) = %v, not a client error", tc.in, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	tb := &tarball{files: []string{"package.json", "binding.gyp", "server.js", "bin/a", "bin/sub/b", "bin/.hidden"},
		rootFiles: map[string]bool{"package.json": true, "binding.gyp": true, "server.js": true}}
	for _, tc := range []struct {
		name     string
		in, want string
		t        *tarball
	}{
		{"bin string", `{"name":"@acme/tool","bin":"./cli.js"}`, `{"name":"@acme/tool","bin":{"tool":"cli.js"}}`, &tarball{}},
		{"bin array", `{"name":"x","bin":["./a/b.js","c.js"]}`, `{"name":"x","bin":{"b.js":"a/b.js","c.js":"c.js"}}`, &tarball{}},
		{"bin escape", `{"name":"x","bin":{"../../evil":"../../../etc/x","ok":"/abs/y","bad":5,"":"x"}}`, `{"name":"x","bin":{"evil":"etc/x","ok":"abs/y"}}`, &tarball{}},
		{"bin empty", `{"name":"x","bin":{"bad":5}}`, `{"name":"x"}`, &tarball{}},
		{"bin wrong type", `{"name":"x","bin":5}`, `{"name":"x"}`, &tarball{}},
		{"directories.bin", `{"name":"x","directories":{"bin":"./bin"}}`, `{"name":"x","directories":{"bin":"./bin"},"bin":{"a":"bin/a","sub":"bin/sub","b":"bin/sub/b"}}`, &tarball{files: tb.files[3:]}},
		{"gyp and server.js", `{"name":"x","scripts":{"test":"./node_modules/.bin/jest","n":5}}`,
			`{"name":"x","gypfile":true,"scripts":{"test":"jest","install":"node-gyp rebuild","start":"node server.js"}}`, tb},
		{"gyp with preinstall", `{"name":"x","scripts":{"preinstall":"a"}}`, `{"name":"x","scripts":{"preinstall":"a","start":"node server.js"}}`, tb},
		{"gypfile false", `{"name":"x","gypfile":false,"scripts":{"start":"s"}}`, `{"name":"x","gypfile":false,"scripts":{"start":"s"}}`, tb},
		{"scripts wrong type", `{"name":"x","scripts":"rm -rf /"}`, `{"name":"x"}`, &tarball{}},
		{"underscore fields", `{"name":"x","_id":"evil","_resolved":"y"}`, `{"name":"x"}`, &tarball{}},
		{"dependency strings", `{"name":"x","dependencies":"a@1 b","devDependencies":["c@^2"],"optionalDependencies":{"d":5}}`,
			`{"name":"x","dependencies":{"a":"1","b":""},"devDependencies":{"c":"^2"},"optionalDependencies":{"d":5}}`, &tarball{}},
		{"dependency values", `{"name":"x","dependencies":{"a":"1","b":2,"c":null}}`, `{"name":"x","dependencies":{"a":"1"}}`, &tarball{}},
		{"dependencies wrong type", `{"name":"x","dependencies":5,"devDependencies":true}`, `{"name":"x"}`, &tarball{}},
		{"bundle true", `{"name":"x","dependencies":{"b":"1","a":"2"},"bundleDependencies":true}`, `{"name":"x","dependencies":{"b":"1","a":"2"},"bundleDependencies":["a","b"]}`, &tarball{}},
		{"bundle false", `{"name":"x","bundleDependencies":false}`, `{"name":"x"}`, &tarball{}},
		{"bundled spelling", `{"name":"x","bundledDependencies":["z",3]}`, `{"name":"x","bundleDependencies":["z"],"dependencies":{"z":"*"}}`, &tarball{}},
		{"description type", `{"name":"x","description":["no"]}`, `{"name":"x"}`, &tarball{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeManifest([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			m.normalize(tc.t)
			want, _ := decodeManifest([]byte(tc.want))
			if diff := cmp.Diff(map[string]any(want), map[string]any(m)); diff != "" {
				t.Errorf("normalize(%s) (-want +got):\n%s", tc.in, diff)
			}
			// Normalizing is idempotent: npm's output compares equal to ours.
			again, _ := decodeManifest(mustJSON(m))
			again.normalize(tc.t)
			if !jsonEqual(map[string]any(again), map[string]any(m)) {
				t.Errorf("normalize is not idempotent on %s", tc.in)
			}
		})
	}
}

func TestConfusion(t *testing.T) {
	for _, tc := range []struct {
		sent, derived string
		want          string // the field named; "" for agreement
	}{
		{`{}`, `{}`, ""},
		{`{"dependencies":{}}`, `{}`, ""},
		{`{"scripts":{"test":"x"}}`, `{"scripts":{"test":"x"}}`, ""},
		{`{"dependencies":{"a":"github:u/r"}}`, `{"dependencies":{"a":"u/r"}}`, ""},
		{`{"dependencies":{"a":"git+https://github.com/u/r.git"}}`, `{"dependencies":{"a":"https://github.com/u/r"}}`, ""},
		{`{"dependencies":{"a":"^1.0.0"}}`, `{"dependencies":{"a":"u/r"}}`, `dependencies["a"]`},
		{`{"dependencies":{"a":"npm:b@1"}}`, `{"dependencies":{"a":"npm:c@1"}}`, `dependencies["a"]`},
		{`{"dependencies":{"a":"1"}}`, `{"dependencies":{"a":"1","b":"2"}}`, `dependencies["b"]`},
		{`{"peerDependenciesMeta":{"a":{"optional":true}}}`, `{}`, "peerDependenciesMeta"},
		{`{"scripts":{"install":"node-gyp rebuild"}}`, `{}`, ""},
		{`{"scripts":{"install":"node-gyp rebuild","preinstall":"x"}}`, `{"scripts":{"preinstall":"x"}}`, `scripts["install"]`},
		{`{"scripts":{"start":"node server.js"}}`, `{}`, ""},
		{`{}`, `{"scripts":{"install":"node-gyp rebuild"}}`, `scripts["install"]`},
		{`{"scripts":"x"}`, `{}`, "scripts"},
		{`{"engines":{"node":">=1"}}`, `{"engines":{"node":">=1"}}`, ""},
		{`{"engines":{"npm":1}}`, `{"engines":{"npm":1.0}}`, ""},
		{`{"libc":["glibc"]}`, `{}`, "libc"},
		{`{"main":"a.js"}`, `{}`, "main"},
		{`{"description":"anything","readme":"x","gitHead":"y"}`, `{}`, ""},
	} {
		sent, _ := decodeManifest([]byte(tc.sent))
		derived, _ := decodeManifest([]byte(tc.derived))
		err := confusion(sent, derived)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("confusion(%s, %s) = %v", tc.sent, tc.derived, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), " "+tc.want+";")):
			t.Errorf("confusion(%s, %s) = %v, want one naming %s", tc.sent, tc.derived, err, tc.want)
		}
	}
}

func TestCheckTag(t *testing.T) {
	for _, ok := range []string{"latest", "next", "beta", "v1-legacy", "lts.2024", "x.y", "a_b", "1.0.0.0"} {
		if err := checkTag(ok); err != nil {
			t.Errorf("checkTag(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3", "v1.2.3", "~1.2", "1.x", "X", "*", "1.2.3-beta.1", "a b", "a/b", "a%20", "é", strings.Repeat("a", 129)} {
		if err := checkTag(bad); err == nil {
			t.Errorf("checkTag(%q) = nil, want an error", bad)
		}
	}
}

func FuzzParsePackageJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"demo","version":"1.0.0"}`,
		`{"name":"@a/b","version":"1.0.0-rc.1+b","bin":"x","scripts":{"install":"a"},"dependencies":"a b@1","bundledDependencies":true}`,
		`{"name":"x","version":"1.0.0","bin":["a","../b"],"directories":{"bin":"../.."},"dependencies":["@s/a@1"]}`,
		"\xef\xbb\xbf{}", `[]`, `{"name":1}`,
	} {
		f.Add([]byte(s))
	}
	tb := &tarball{files: []string{"package.json", "binding.gyp", "bin/a"}, rootFiles: map[string]bool{"package.json": true, "binding.gyp": true}}
	who := &access.Principal{UserName: "alice", Email: "alice@example.test"}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parsePackageJSON(b)
		if err != nil {
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("parsePackageJSON error %v is not a client error", err)
			}
			return
		}
		version, err := cleanVersion(m["version"].(string))
		if err != nil {
			t.Fatalf("parsePackageJSON accepted version %q: %v", m["version"], err)
		}
		derived, err := derive(m, tb, blob.Digests{SHA512: strings.Repeat("00", 64), SHA1: strings.Repeat("00", 20)}, who, version)
		if err != nil {
			t.Fatalf("derive: %v", err)
		}
		var d manifest
		if err := json.Unmarshal(derived, &d); err != nil || d["version"] != version || d["_id"] == nil {
			t.Fatalf("derived manifest %s: %v", derived, err)
		}
		if bin, ok := d["bin"].(map[string]any); ok {
			for k, v := range bin {
				s, _ := v.(string)
				if strings.Contains(k, "/") || !localPath(s) || strings.HasPrefix(s, "/") {
					t.Fatalf("derived bin %q: %q escapes the package", k, s)
				}
			}
		}
		// What Trove derives is what npm would send: it never confuses itself.
		sent, _ := decodeManifest(derived)
		sent.normalize(tb)
		again, _ := decodeManifest(derived)
		if err := confusion(sent, again); err != nil {
			t.Fatalf("the derived manifest disagrees with itself: %v", err)
		}
	})
}
