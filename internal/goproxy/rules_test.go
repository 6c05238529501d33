package goproxy

import (
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{"example.com/m", ""},
		{"example.com/BurntSushi/toml", ""},
		{"example.com/m/v2", ""},
		{"gopkg.in/yaml.v3", ""},
		{"noDot/m", "needs a dot"},
		{"example.com/../m", "not valid"},
		{"", "not valid"},
		{"example.com/m v1", "not valid"},
		{"-/upload", "not valid"},
	} {
		n, err := (Rules{}).ParseName(tc.in)
		if tc.wantErr == "" {
			if err != nil || string(n) != tc.in {
				t.Errorf("ParseName(%q) = %q, %v, want %q, nil", tc.in, n, err, tc.in)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseName(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestVersionKey(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{"v1.2.3", ""},
		{"v1.2.3-rc.1", ""},
		{"v2.0.0+incompatible", ""},
		{"v0.0.0-20240102030405-abcdefabcdef", ""},
		{"v1.2", `use "v1.2.0"`},
		{"v1", `use "v1.0.0"`},
		{"v1.2.3+meta", `use "v1.2.3"`},
		{"1.2.3", "not a semantic version"},
		{"latest", "not a semantic version"},
	} {
		k, err := (Rules{}).VersionKey(tc.in)
		if tc.wantErr == "" {
			if err != nil || k != tc.in {
				t.Errorf("VersionKey(%q) = %q, %v, want %q, nil", tc.in, k, err, tc.in)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("VersionKey(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		path, version string
		ok            bool
	}{
		{"example.com/m", "v1.0.0", true},
		{"example.com/m", "v0.1.0", true},
		{"example.com/m", "v2.0.0", false},
		{"example.com/m", "v2.0.0+incompatible", true},
		{"example.com/m", "v1.0.0+incompatible", false},
		{"example.com/m/v2", "v2.1.0", true},
		{"example.com/m/v2", "v1.0.0", false},
		{"example.com/m/v2", "v3.0.0", false},
		{"example.com/m/v2", "v2.0.0+incompatible", false},
		{"gopkg.in/yaml.v3", "v3.0.1", true},
		{"gopkg.in/yaml.v3", "v2.0.0", false},
		{"example.com/m", "v1.0", false},
	} {
		err := CheckVersion(tc.path, tc.version)
		if (err == nil) != tc.ok {
			t.Errorf("CheckVersion(%q, %q) = %v, want ok=%v", tc.path, tc.version, err, tc.ok)
		}
	}
}

func TestSkeleton(t *testing.T) {
	if a, b := (Rules{}).Skeleton("example.com/Foo"), (Rules{}).Skeleton("example.com/foo"); a != b {
		t.Errorf("Skeleton differs by case: %q, %q", a, b)
	}
}
