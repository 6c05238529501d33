package goproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on the upload form besides the zip, which Options.MaxZipBytes bounds.
const (
	// MaxModBytes bounds the go.mod file: the go command's own limit.
	MaxModBytes = modzip.MaxGoMod
	// MaxFieldBytes bounds the module and version fields.
	MaxFieldBytes = 1024
	// formOverhead allows for the multipart framing around the parts.
	formOverhead = 64 << 10
)

// An UploadResult is the JSON answer to a successful upload.
type UploadResult struct {
	Module  string
	Version string
	Time    time.Time
	GoSum   []string // the version's go.sum lines
}

// A form is a received upload form.
type form struct {
	module, version string
	mod             []byte
	zip             *registry.Staged
	seen            map[string]bool
}

func invalid(format string, args ...any) error {
	return trove.Error(trove.ErrInvalid, format, args...)
}

// upload receives a module version, checks it and publishes it.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	if who == nil {
		return fmt.Errorf("%w: publishing a Go module needs an API token, sent as Authorization: Bearer <token>", access.ErrUnauthenticated)
	}
	f, err := h.readForm(w, r, who)
	if f != nil && f.zip != nil {
		defer f.zip.Close()
	}
	if err != nil {
		return err
	}
	up, err := f.check()
	if err != nil {
		return err
	}
	modStaged, err := h.o.Registry.Stage(bytes.NewReader(f.mod), MaxModBytes)
	if err != nil {
		return err
	}
	defer modStaged.Close()
	up.Files = []registry.UploadFile{
		{Filename: f.version + ".mod", Kind: "mod", Content: modStaged},
		{Filename: f.version + ".zip", Kind: "zip", Content: f.zip},
	}
	res, err := h.o.Registry.Publish(r.Context(), who, up)
	if err != nil {
		return err
	}
	b, err := json.Marshal(UploadResult{Module: f.module, Version: f.version, Time: res.Release.PublishedAt.UTC(), GoSum: up.Lines})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(append(b, '\n'))
	return nil
}

// maxFormParts bounds the parts of an upload form; there are four kinds,
// each allowed once, and others are refused as they arrive.
const maxFormParts = 16

// readForm streams the multipart form: fields are bounded, the go.mod is
// read into memory (it is small) and the zip staged as it arrives.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request, who *access.Principal) (*form, error) {
	mf, err := adapter.NewForm(w, r, h.o.MaxZipBytes+MaxModBytes+formOverhead, maxFormParts,
		"with the fields module and version and the files mod and zip")
	if err != nil {
		return nil, err
	}
	f := &form{seen: make(map[string]bool)}
	for {
		p, err := mf.Next()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		if err := h.readPart(f, p, who); err != nil {
			return f, err
		}
	}
}

// readPart reads one part of the form.
func (h *Handler) readPart(f *form, p *multipart.Part, who *access.Principal) error {
	name := p.FormName()
	if f.seen[name] {
		return invalid("the upload form has more than one %q part", name)
	}
	f.seen[name] = true
	var err error
	switch name {
	case "module":
		var b []byte
		if b, err = adapter.ReadPart(p, MaxFieldBytes, "form field module"); err == nil {
			f.module = string(b)
			// Refuse before the zip arrives what the token cannot publish.
			err = h.o.Registry.CheckScope(who, access.Publish, trove.Go, f.module)
		}
	case "version":
		var b []byte
		b, err = adapter.ReadPart(p, MaxFieldBytes, "form field version")
		f.version = string(b)
	case "mod":
		f.mod, err = adapter.ReadPart(p, MaxModBytes, "the go.mod file (mod)")
	case "zip":
		if f.module == "" {
			return invalid("the upload form must send the module field before the zip file")
		}
		f.zip, err = adapter.StagePart(h.o.Registry, p, h.o.MaxZipBytes, "the module zip", "limit")
	default:
		return invalid("unknown upload form part %q: send module, version, mod and zip", clip(name, 40))
	}
	return err
}

// check validates the received module version and computes its go.sum
// lines. Every problem with the zip's files is reported at once.
func (f *form) check() (*registry.Upload, error) {
	switch {
	case f.module == "":
		return nil, invalid("the upload form has no module field (the module path)")
	case f.version == "":
		return nil, invalid("the upload form has no version field (a version like v1.2.3)")
	case f.mod == nil:
		return nil, invalid("the upload form has no mod file (the module's go.mod)")
	case f.zip == nil:
		return nil, invalid("the upload form has no zip file (the module zip)")
	}
	if _, err := (Rules{}).ParseName(f.module); err != nil {
		return nil, invalid("%w", err)
	}
	if err := CheckVersion(f.module, f.version); err != nil {
		return nil, invalid("%w", err)
	}
	m := module.Version{Path: f.module, Version: f.version}
	if err := checkMod(m, f.mod); err != nil {
		return nil, err
	}
	if err := checkZip(m, f.zip, f.mod); err != nil {
		return nil, err
	}
	zipSum, err := dirhash.HashZip(f.zip.Path(), dirhash.Hash1)
	if err != nil {
		return nil, invalid("hashing the module zip: %w", err)
	}
	modSum, err := hashMod(f.mod)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"module": f.module}
	if name, text := moduleReadme(m, f.zip); name != "" {
		meta["readme"], meta["readmeFilename"] = text, name
	}
	md, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	return &registry.Upload{Ecosystem: trove.Go, Name: f.module, Version: f.version, Metadata: md,
		Lines: []string{
			f.module + " " + f.version + " " + zipSum,
			f.module + " " + f.version + "/go.mod " + modSum,
		},
		Dependencies: requires(f.mod)}, nil
}

// requires returns the module versions a go.mod requires.
func requires(mod []byte) []registry.Dependency {
	mf, err := modfile.ParseLax("go.mod", mod, nil)
	if err != nil {
		return nil
	}
	var out []registry.Dependency
	for _, r := range mf.Require {
		out = append(out, registry.Dependency{Name: r.Mod.Path, Constraint: r.Mod.Version})
	}
	return out
}

// checkMod checks that the go.mod parses and declares the module path.
func checkMod(m module.Version, mod []byte) error {
	if _, err := modfile.ParseLax("go.mod", mod, nil); err != nil {
		return invalid("the go.mod file does not parse: %w", err)
	}
	if got := modfile.ModulePath(mod); got != m.Path {
		if got == "" {
			return invalid("the go.mod file has no module directive; it must say: module %s", m.Path)
		}
		return invalid("the go.mod file declares module %s, but the upload is for %s; they must be the same", got, m.Path)
	}
	return nil
}

// checkZip checks the module zip: first as an archive (internal/archive:
// a zip that every reader reads the same, within the archive limits), then
// as a module (zip.CheckZip: the module@version/ prefix, file names,
// case-fold collisions, sizes, a go.mod only at the root), and that its
// go.mod, if any, is the uploaded one. A +incompatible version must have
// none.
func checkZip(m module.Version, st *registry.Staged, mod []byte) error {
	z, err := archive.OpenZip(st, st.Size(), archive.DefaultLimits())
	if err != nil {
		return fmt.Errorf("the module zip: %w", err)
	}
	if err := checkModuleFiles(m, st); err != nil {
		return err
	}
	gomod := m.Path + "@" + m.Version + "/go.mod"
	if _, ok := z.Lookup(gomod); !ok {
		// A module without go.mod (legacy, or +incompatible): the mod
		// file only declares the path, as the go command synthesizes it.
		return nil
	}
	inZip, err := z.ReadFile(gomod, MaxModBytes)
	switch {
	case err != nil:
		return fmt.Errorf("reading go.mod in the module zip: %w", err)
	case strings.HasSuffix(m.Version, "+incompatible"):
		return invalid("%s is +incompatible, which only a module without a go.mod may be: remove +incompatible and add a major version suffix (/vN) to the module path", m.Version)
	case !bytes.Equal(inZip, mod):
		return invalid("the go.mod in the module zip differs from the uploaded mod file; they must be byte-identical")
	}
	return nil
}

// checkModuleFiles reports every problem x/mod's CheckZip finds at once.
func checkModuleFiles(m module.Version, st *registry.Staged) error {
	cf, err := modzip.CheckZip(m, st.Path())
	if err == nil {
		return nil
	}
	if cf.Err() == nil {
		return invalid("the module zip cannot be read: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the module zip is not valid for %s:", m)
	if cf.SizeError != nil {
		fmt.Fprintf(&b, "\n\t%v", cf.SizeError)
	}
	for _, fe := range cf.Invalid {
		fmt.Fprintf(&b, "\n\t%s: %v", fe.Path, fe.Err)
	}
	return invalid("%s", b.String())
}

// hashMod returns the go.sum hash of a go.mod file: dirhash.Hash1 of the
// one file "go.mod", as the go command computes it (modfetch).
func hashMod(mod []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(mod)), nil
	})
}

// clip shortens s to at most n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
