package goproxy

import (
	"strings"

	"golang.org/x/mod/module"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/registry"
)

// MaxReadmeBytes bounds the README an upload keeps in its release's
// metadata, for the package page. A longer README is not kept.
const MaxReadmeBytes = 256 << 10

// readmeNames are the README files looked for at the module's root, in
// order of preference.
var readmeNames = []string{"README.md", "README.markdown", "readme.md", "Readme.md", "README", "README.txt"}

// moduleReadme returns the name and text of the README at the root of a
// checked module zip, or "", "" when it has none (or one over
// MaxReadmeBytes). Invalid UTF-8 is replaced.
func moduleReadme(m module.Version, st *registry.Staged) (name, text string) {
	z, err := archive.OpenZip(st, st.Size(), archive.DefaultLimits())
	if err != nil {
		return "", ""
	}
	prefix := m.Path + "@" + m.Version + "/"
	for _, n := range readmeNames {
		e, ok := z.Lookup(prefix + n)
		if !ok || e.Dir || e.Size > MaxReadmeBytes {
			continue
		}
		b, err := z.ReadFile(prefix+n, MaxReadmeBytes)
		if err != nil {
			return "", ""
		}
		return n, strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return "", ""
}
