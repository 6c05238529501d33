package pypi

import (
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
)

// Rebuild rebuilds the file of a publish record (registry.Rebuilder, for
// trove log recover): a PyPI publish record holds one file, and the
// release metadata, the file's attributes and its PEP 658 metadata come
// from the file's own METADATA or PKG-INFO, as an upload derives them.
func (Rules) Rebuild(ev *translog.Event, files []*registry.Staged) (*registry.Upload, error) {
	if len(files) != 1 || len(ev.Files) != 1 {
		return nil, invalid("a PyPI publish record holds one file, not %d", len(files))
	}
	return readDist(ev.Files[0].Name, files[0])
}

// readDist reads a distribution file that no upload form describes (a
// rebuilt or a proxied one) with the checks of an upload: the archive, its
// core metadata, and a filename naming the metadata's project and
// version. The Python tag twine would send for a wheel is the one in its
// filename.
func readDist(fn string, st *registry.Staged) (*registry.Upload, error) {
	ds, err := parseFilename(fn)
	if err != nil {
		return nil, invalid("%w", err)
	}
	ft, pyversion := ds[0].Kind, ds[0].Python
	if ft != kindWheel {
		pyversion = "source"
	}
	raw, md, err := distMetadata(st, st.Size(), fn, ds[0])
	if err != nil {
		return nil, err
	}
	return newUpload(fn, ft, pyversion, st, raw, md)
}
