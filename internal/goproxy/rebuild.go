package goproxy

import (
	"io"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Rebuild rebuilds a module version from the .mod and .zip files of its
// publish record (registry.Rebuilder, for trove log recover), checking
// them as an upload is checked: the go.sum lines they hash to must be the
// record's, which the registry compares.
func (Rules) Rebuild(ev *translog.Event, files []*registry.Staged) (*registry.Upload, error) {
	f := &form{module: ev.Name, version: ev.Version}
	kinds := make([]string, len(files))
	for i, d := range ev.Files {
		switch d.Name {
		case ev.Version + ".mod":
			mod, err := io.ReadAll(io.LimitReader(files[i].Reader(), MaxModBytes+1))
			if err != nil {
				return nil, err
			}
			if len(mod) > MaxModBytes {
				return nil, invalid("%s is larger than %d bytes", d.Name, MaxModBytes)
			}
			f.mod, kinds[i] = mod, "mod"
		case ev.Version + ".zip":
			f.zip, kinds[i] = files[i], "zip"
		default:
			return nil, invalid("a Go module version has the files %s.mod and %s.zip, not %s", ev.Version, ev.Version, d.Name)
		}
	}
	up, err := f.check()
	if err != nil {
		return nil, err
	}
	for i, d := range ev.Files {
		up.Files = append(up.Files, registry.UploadFile{Filename: d.Name, Kind: kinds[i], Content: files[i]})
	}
	up.Ecosystem = trove.Go
	return up, nil
}
