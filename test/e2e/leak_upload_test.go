//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUploadWithCloudKeyRejected: twine upload of a wheel holding a cloud
// provider's key is refused before anyone can install it; twine's reason
// phrase names the file and line and the rule, never the key (PKM-06).
// With scan.secrets = "hold" the same upload is held for review: 409, and
// the release waits in the held list, not installable.
func TestUploadWithCloudKeyRejected(t *testing.T) {
	// Built from pieces so that no file of the repository holds a key.
	key := "AK" + "IA" + "Q7XR2ZL5MB3WN6TD"
	project := func(t *testing.T) string {
		dir := pyProject(t, "trove-e2e-cloudkey", "1.0.0", "cloud")
		conf := filepath.Join(dir, "src", "trove_e2e_cloudkey", "conf.py")
		if err := os.WriteFile(conf, []byte("# Where the data is.\nBUCKET = 'reports'\nAWS_ACCESS_KEY_ID = '"+key+"'\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, wheel := pyBuild(t, dir)
		return wheel
	}

	t.Run("reject", func(t *testing.T) {
		tr := startTrove(t)
		tok := alice(t, tr)
		out, err := twine(t, tr, tok, nil, project(t))
		if err == nil {
			t.Fatalf("twine upload of a wheel holding an AWS key succeeded:\n%s", out)
		}
		wantOutput(t, "twine upload of a wheel holding an AWS key", out, "400", "trove_e2e_cloudkey/conf.py:3",
			"credentials: an AWS access key ID", "aws-access-token")
		if strings.Contains(out, key[4:]) {
			t.Errorf("twine shows the key:\n%s", out)
		}
		if out, err := pip(t, tr, "download", "--no-deps", "-d", t.TempDir(), "trove-e2e-cloudkey"); err == nil {
			t.Errorf("pip downloaded the refused project:\n%s", out)
		}
	})

	t.Run("hold", func(t *testing.T) {
		tr := startTrove(t, "TROVE_SCAN_SECRETS=hold")
		tok := alice(t, tr)
		out, err := twine(t, tr, tok, nil, project(t))
		if err == nil {
			t.Fatalf("twine upload of a wheel holding an AWS key succeeded:\n%s", out)
		}
		wantOutput(t, "twine upload of a wheel holding an AWS key, scan.secrets = hold", out, "409", "held for review")
		if out, err := pip(t, tr, "download", "--no-deps", "-d", t.TempDir(), "trove-e2e-cloudkey"); err == nil {
			t.Errorf("pip downloaded the held project:\n%s", out)
		}
		wantOutput(t, "trove admin held list", tr.trove(t, "", "admin", "held", "list"), "trove-e2e-cloudkey", "1.0.0")
	})
}
