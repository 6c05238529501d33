package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCurationContact(t *testing.T) {
	for _, c := range []struct{ toml, wantErr string }{
		{`curation_contact = "platform-team@example.com"`, ""},
		{`curation_contact = "two\nlines"`, "upstream.curation_contact: at most 256 characters on one line"},
		{`curation_contact = "` + strings.Repeat("x", 257) + `"`, "upstream.curation_contact: at most 256 characters on one line"},
	} {
		path := filepath.Join(t.TempDir(), "trove.toml")
		if err := os.WriteFile(path, []byte("[upstream]\n"+c.toml+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Finish()
		err = cfg.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: Validate = %v", c.toml, err)
		case c.wantErr == "" && cfg.Upstream.CurationContact != "platform-team@example.com":
			t.Errorf("%s: CurationContact = %q", c.toml, cfg.Upstream.CurationContact)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: Validate = %v, want %q", c.toml, err, c.wantErr)
		}
	}
}
