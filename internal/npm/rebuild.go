package npm

import (
	"strings"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Rebuild rebuilds a release from the tarball of its publish record
// (registry.Rebuilder, for trove log recover): the manifest is derived
// from the tarball's package.json exactly as a publish derives it, except
// that who published is not in the record, so the manifest names no
// _npmUser or maintainers (the packument lists the package's owners).
func (Rules) Rebuild(ev *translog.Event, files []*registry.Staged) (*registry.Upload, error) {
	if len(files) != 1 {
		return nil, trove.Error(trove.ErrInvalid, "an npm release has one tarball, not %d files", len(files))
	}
	st := files[0]
	t, err := readTarball(st, st.Size())
	if err != nil {
		return nil, err
	}
	pkgJSON, err := parsePackageJSON(t.packageJSON)
	if err != nil {
		return nil, err
	}
	name := trove.Name(strings.TrimSpace(pkgJSON["name"].(string)))
	version, err := cleanVersion(pkgJSON["version"].(string))
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "package.json: %w", err)
	}
	derived, err := derive(pkgJSON, t, st.Digests, nil, version)
	if err != nil {
		return nil, err
	}
	return &registry.Upload{
		Ecosystem:    trove.NPM,
		Name:         string(name),
		Version:      version,
		Metadata:     derived,
		Files:        []registry.UploadFile{{Filename: basename(name) + "-" + version + ".tgz", Kind: "tarball", Content: st}},
		Dependencies: dependencies(mustManifest(derived)),
	}, nil
}
