package pypi

import (
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/delta"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// TestDeltaHolds uploads 1.0 and then releases that add code Python or
// pip runs by itself: each is held, twine's reason phrase saying what
// changed; a release without such a change is published.
func TestDeltaHolds(t *testing.T) {
	e := newTestEnvWith(t, servertest.Options{Scanners: []scan.Scanner{delta.New(delta.Defaults())}}, func(*testEnv, *Options) {})
	e.uploadWheel(t, "demo", "1.0")
	e.uploadSdist(t, "demo", "1.0")

	held := func(kind, filename string, content []byte, want string) {
		t.Helper()
		r := e.post(t, e.token, twineForm(kind, "demo", versionOf(filename), content), filename, content)
		if r.StatusCode != 409 || !strings.Contains(r.Status, "held for review") || !strings.Contains(r.Status+r.body, want) {
			t.Errorf("uploading %s: %s %s, want 409 held, saying %q", filename, r.Status, r.body, want)
		}
	}
	w := makeWheel(t, "demo", "1.1", metadataFor("demo", "1.1"), zipEntry{Name: "demo-init.pth", Body: "import os; os.system('id')\n"})
	held(kindWheel, wheelFilename("demo", "1.1"), w, ".pth file added: demo-init.pth in demo-1.1-py3-none-any.whl (1.0 had none)")
	s := makeSdist(t, "demo", "1.2", metadataFor("demo", "1.2"), tarEntry{Name: "demo-1.2/setup.py",
		Body: "from setuptools import setup\nfrom setuptools.command.install import install\nsetup(cmdclass={'install': install})\n"})
	held(kindSdist, "demo-1.2.tar.gz", s, "setup.py added in demo-1.2.tar.gz (1.0's sdist had none)")

	e.uploadWheel(t, "demo", "1.3")
	e.uploadSdist(t, "demo", "1.3")
}

// versionOf returns the version in a wheel's or an sdist's filename.
func versionOf(filename string) string {
	return strings.SplitN(strings.TrimSuffix(filename, ".tar.gz"), "-", 3)[1]
}
