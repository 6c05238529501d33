package delta

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/scan"
)

// maxSetupPy bounds how much of an sdist's setup.py is read.
const maxSetupPy = 1 << 20

// pythonHooks is what of a PyPI release's files Python or pip runs
// without being asked: .pth files at the top of a wheel (site runs their
// import lines at every interpreter start), an sdist's setup.py (pip runs
// it to build), and a setup.py's cmdclass (custom install commands).
type pythonHooks struct {
	wheels, sdists bool     // whether the release has files of each kind
	pth            []string // .pth files, with the wheel holding each
	setupPy        string   // the sdist holding a setup.py, "" for none
	cmdclass       string   // the sdist whose setup.py has a cmdclass
}

// readHooks reads the hooks of an artifact's files: wheels by their
// central directories, sdists by their setup.py.
func readHooks(ctx context.Context, a *scan.Artifact) (pythonHooks, error) {
	var h pythonHooks
	lim := archive.DefaultLimits()
	for _, f := range a.Files {
		name := strings.ToLower(f.Name)
		switch {
		case strings.HasSuffix(name, ".whl"):
			h.wheels = true
			z, err := archive.OpenZip(scan.ContextReaderAt(ctx, f.Content), f.Size, lim)
			if err != nil {
				return h, fmt.Errorf("reading %s of %s: %w", f.Name, a.Version, err)
			}
			for _, e := range z.Entries() {
				if !e.Dir && !strings.Contains(e.Name, "/") && strings.HasSuffix(strings.ToLower(e.Name), ".pth") {
					h.pth = append(h.pth, e.Name+" in "+f.Name)
				}
			}
		case strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".zip"):
			h.sdists = true
			err := walkSdist(ctx, f, lim, func(setup []byte) {
				h.setupPy = cmp.Or(h.setupPy, f.Name)
				if bytes.Contains(setup, []byte("cmdclass")) {
					h.cmdclass = cmp.Or(h.cmdclass, f.Name)
				}
			})
			if err != nil {
				return h, fmt.Errorf("reading %s of %s: %w", f.Name, a.Version, err)
			}
		}
	}
	return h, nil
}

// walkSdist calls fn with the (bounded) setup.py at the top of an sdist
// (NAME-VERSION/setup.py), if it has one.
func walkSdist(ctx context.Context, f scan.File, lim archive.Limits, fn func(setup []byte)) error {
	content := scan.ContextReaderAt(ctx, f.Content)
	each := func(e archive.Entry, r io.Reader) error {
		if e.Dir || path.Base(e.Name) != "setup.py" || strings.Count(e.Name, "/") != 1 {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, maxSetupPy))
		if err != nil {
			return err
		}
		fn(b)
		return nil
	}
	if strings.HasSuffix(strings.ToLower(f.Name), ".zip") {
		z, err := archive.OpenZip(content, f.Size, lim)
		if err != nil {
			return err
		}
		return z.Walk(each)
	}
	return archive.WalkTarGz(io.NewSectionReader(content, 0, f.Size), lim, each)
}

// pypiHooks reports hooks the release has and the previous one did not,
// comparing files of the same kind only (wheels with wheels, sdists with
// sdists): a release uploaded file by file is compared with what the
// previous release had of each kind.
func pypiHooks(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	now, err := readHooks(ctx, a)
	if err != nil {
		return nil, err
	}
	if len(now.pth) == 0 && now.setupPy == "" {
		return nil, nil
	}
	before, err := readHooks(ctx, a.Previous)
	if err != nil {
		return nil, err
	}
	prev := a.Previous.Version
	var fs []scan.Finding
	if before.wheels && len(before.pth) == 0 {
		for _, p := range now.pth {
			fs = append(fs, scan.Finding{Rule: "pth-added", File: strings.SplitN(p, " in ", 2)[1],
				Message: fmt.Sprintf(".pth file added: %s (%s had none); Python runs its import lines at every start", p, prev)})
		}
	}
	if before.sdists {
		switch {
		case now.setupPy != "" && before.setupPy == "":
			fs = append(fs, scan.Finding{Rule: "setup-py-added", File: now.setupPy,
				Message: fmt.Sprintf("setup.py added in %s (%s's sdist had none): pip runs it to build the package", now.setupPy, prev)})
		case now.cmdclass != "" && before.cmdclass == "":
			fs = append(fs, scan.Finding{Rule: "cmdclass-added", File: now.cmdclass,
				Message: fmt.Sprintf("setup.py in %s now overrides setup commands (cmdclass); %s's did not", now.cmdclass, prev)})
		}
	}
	return fs, nil
}
