package lockfile_test

import (
	"testing"

	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/lockfile"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
)

func TestDetect(t *testing.T) {
	formats := []lockfile.Format{npm.PackageLock{}, pypi.Requirements{}, goproxy.GoSum{}}
	for in, want := range map[string]string{
		"package-lock.json": "package-lock", "npm-shrinkwrap.json": "package-lock",
		"requirements.txt": "requirements", "requirements-dev.txt": "requirements", "go.sum": "go.sum",
	} {
		if got, err := lockfile.Detect(formats, in); err != nil || got.Name() != want {
			t.Errorf("Detect(%q) = %v, %v, want %q", in, got, err, want)
		}
		if got, err := lockfile.ByName(formats, want); err != nil || got.Name() != want {
			t.Errorf("ByName(%q) = %v, %v", want, got, err)
		}
	}
	for _, in := range []string{"yarn.lock", "Pipfile.lock", "go.mod"} {
		if _, err := lockfile.Detect(formats, in); err == nil {
			t.Errorf("Detect(%q) succeeded, want an error", in)
		}
	}
	if _, err := lockfile.ByName(formats, "yarn"); err == nil {
		t.Errorf("ByName(yarn) succeeded, want an error")
	}
}
