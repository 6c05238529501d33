package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/trove"
)

// TestPopularNamesConfig: trove serve checks new npm and PyPI names
// against the built-in lists by default, or against the files that
// replace them, and not at all once namespaces.popular.enabled is off.
func TestPopularNamesConfig(t *testing.T) {
	c := config.Default()
	lists, allow, err := popularNames(&c)
	if err != nil || len(lists) != 2 || len(allow) != 0 {
		t.Fatalf("popularNames(default) = %d lists, %v, %v; want npm's and PyPI's", len(lists), allow, err)
	}
	for _, p := range lists {
		if p.Len() < 400 {
			t.Errorf("the built-in %s list has %d names", p.Ecosystem(), p.Len())
		}
	}

	file := filepath.Join(t.TempDir(), "npm.txt")
	os.WriteFile(file, []byte("# ours\nacme-core\n"), 0o600)
	c.Namespaces.Popular.Files = map[string]string{"npm": file}
	c.Namespaces.Popular.Allow = []string{"npm:acme-c0re", "pypi:Acme_Tools"}
	lists, allow, err = popularNames(&c)
	if err != nil || len(lists) != 2 {
		t.Fatalf("popularNames(files.npm) = %d lists, %v", len(lists), err)
	}
	for _, p := range lists {
		_, acme := p.Lookalike("acme-cor")
		_, lodash := p.Lookalike("lodahs")
		if p.Ecosystem() == trove.NPM && (p.Len() != 1 || !acme || lodash) {
			t.Errorf("npm's list with files.npm: %d names, acme-cor refused %v, lodahs refused %v; want the file's one name only", p.Len(), acme, lodash)
		}
	}
	if len(allow) != 2 || allow[0] != "npm:acme-c0re" || allow[1] != "pypi:acme-tools" {
		t.Errorf("allowed = %q, want the patterns folded by their rules", allow)
	}

	c.Namespaces.Popular.Enabled = false
	if lists, allow, err := popularNames(&c); lists != nil || allow != nil || err != nil {
		t.Errorf("popularNames(enabled = false) = %v, %v, %v; want nothing", lists, allow, err)
	}

	c = config.Default()
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("requests\nnot a name!\n"), 0o600)
	c.Namespaces.Popular.Files = map[string]string{"npm": filepath.Join(t.TempDir(), "missing.txt"), "pypi": bad, "go": bad}
	c.Namespaces.Popular.Allow = []string{"cargo:serde"}
	_, _, err = popularNames(&c)
	for _, want := range []string{"namespaces.popular.files.npm: open", "namespaces.popular.files.pypi: " + bad + ": line 2",
		"namespaces.popular.files.go: go has no check of popular names", "namespaces.popular.allow[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("popularNames(bad settings) = %v, want %q", err, want)
		}
	}
}
