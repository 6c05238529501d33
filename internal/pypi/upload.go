package pypi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on the upload form besides the file, which Options.MaxUploadBytes bounds.
const (
	// MaxFieldBytes bounds one text field of the form.
	MaxFieldBytes = 1 << 20
	// MaxFormBytes bounds all text fields together.
	MaxFormBytes = 8 << 20
	// MaxFormParts bounds the number of parts (twine sends one per field
	// value, so one per classifier).
	MaxFormParts = 2000
	// formOverhead allows for the multipart framing around the parts.
	formOverhead = MaxFormParts * 512
)

// Form fields that must appear at most once: they identify the upload.
var identityFields = []string{":action", "protocol_version", "name", "version", "filetype", "pyversion",
	"metadata_version", "md5_digest", "sha256_digest", "blake2_256_digest"}

// fileAttrs are the per-file attributes Trove keeps (registry File.Attrs).
type fileAttrs struct {
	PackageType     string `json:"packagetype"`
	PythonVersion   string `json:"python_version"`
	RequiresPython  string `json:"requires_python,omitempty"`
	MetadataVersion string `json:"metadata_version"`
}

// A form is a received upload form.
type form struct {
	fields   map[string][]string
	size     int
	content  *registry.Staged
	filename string // of the content part
}

func (f *form) get(k string) string {
	if v := f.fields[k]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func invalid(format string, args ...any) error {
	return trove.Error(trove.ErrInvalid, format, args...)
}

// upload receives a file as twine sends it (the legacy upload API),
// checks it and its metadata, and publishes it. The metadata Trove keeps
// comes from the file's own METADATA or PKG-INFO, never from the form,
// whose name and version must agree with it.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	if who == nil {
		return fmt.Errorf("%w: uploading needs an API token: give the username __token__ and a Trove API token as the password", access.ErrUnauthenticated)
	}
	f, err := h.readForm(w, r, who)
	if f != nil && f.content != nil {
		defer f.content.Close()
	}
	if err != nil {
		return err
	}
	if err := f.checkFields(); err != nil {
		return err
	}
	up, err := f.parse()
	if err != nil {
		return err
	}
	name := trove.Name(Normalize(up.Name))
	unchanged, err := h.publish(r.Context(), who, up, name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if unchanged {
		fmt.Fprintf(w, "%s was already uploaded with the same content; nothing changed\n", f.filename)
	} else {
		fmt.Fprintf(w, "uploaded %s (%s %s)\n", f.filename, up.Name, up.Version)
	}
	return nil
}

// readForm streams the multipart form: text fields are bounded and kept,
// the file is staged (spooled with every digest) as it arrives.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request, who *access.Principal) (*form, error) {
	mf, err := adapter.NewForm(w, r, h.o.MaxUploadBytes+MaxFormBytes+formOverhead, MaxFormParts, "as twine sends it")
	if err != nil {
		return nil, err
	}
	f := &form{fields: make(map[string][]string)}
	for {
		p, err := mf.Next()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		switch name := p.FormName(); name {
		case "":
			return f, invalid("a part of the upload form has no name")
		case "content":
			err = h.readContent(f, p, who)
		default:
			err = f.readField(name, p)
		}
		if err != nil {
			return f, err
		}
	}
}

// readContent stages the file, once what the fields sent before it allow.
func (h *Handler) readContent(f *form, p *multipart.Part, who *access.Principal) error {
	if f.content != nil {
		return invalid("the upload form has more than one content part; upload one file per request")
	}
	var err error
	if f.filename, err = partFilename(p); err != nil {
		return err
	}
	// Refuse before receiving the file what the fields already sent
	// show to be refused.
	if err := h.early(f, who); err != nil {
		return err
	}
	f.content, err = adapter.StagePart(h.o.Registry, p, h.o.MaxUploadBytes, f.filename, "upload limit")
	return err
}

// readField keeps a text field.
func (f *form) readField(name string, p *multipart.Part) error {
	b, err := adapter.ReadPart(p, MaxFieldBytes, fmt.Sprintf("form field %q", clip(name, 40)))
	if err != nil {
		return err
	}
	if f.size += len(name) + len(b); f.size > MaxFormBytes {
		return trove.Error(trove.ErrTooLarge, "the upload form's fields are larger than %d bytes together", MaxFormBytes)
	}
	f.fields[name] = append(f.fields[name], string(b))
	return nil
}

// partFilename returns the filename of the content part as the client
// sent it (mime/multipart's FileName would strip directories, and a
// filename with any is refused rather than repaired).
func partFilename(p *multipart.Part) (string, error) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", invalid("the content part's Content-Disposition is malformed: %w", err)
	}
	fn := params["filename"]
	if fn == "" {
		return "", invalid("the content part has no filename; it must be the distribution's filename")
	}
	if _, err := parseFilename(fn); err != nil {
		return "", invalid("%w", err)
	}
	return fn, nil
}

// early checks what the fields read so far allow before the file is
// received: the action, the protocol version and that the token's scope
// covers the project. Publish checks all of it again.
func (h *Handler) early(f *form, who *access.Principal) error {
	_, action := f.fields[":action"]
	_, protocol := f.fields["protocol_version"]
	if action && protocol {
		if err := f.checkAction(); err != nil {
			return err
		}
	}
	if name := f.get("name"); name != "" {
		if _, err := (Rules{}).ParseName(name); err != nil {
			return invalid("form field name: %w", err)
		}
		return h.o.Registry.CheckScope(who, access.Publish, trove.PyPI, name)
	}
	return nil
}

func (f *form) checkAction() error {
	switch a := f.get(":action"); a {
	case "file_upload":
	case "":
		return invalid("the upload form has no :action field; twine sends :action=file_upload")
	default:
		return invalid(":action %q is not supported; only file_upload is", clip(a, 40))
	}
	if pv := f.get("protocol_version"); pv != "1" {
		return invalid("protocol_version %q is not supported; only 1 is", clip(pv, 40))
	}
	return nil
}

// checkFields checks the form's fields.
func (f *form) checkFields() error {
	for _, k := range identityFields {
		if len(f.fields[k]) > 1 {
			return invalid("form field %s appears %d times; it may appear once", k, len(f.fields[k]))
		}
	}
	if err := f.checkAction(); err != nil {
		return err
	}
	if _, ok := f.fields["attestations"]; ok {
		return invalid("attestations (PEP 740) are not supported: Trove cannot verify them yet; upload without them")
	}
	if f.content == nil {
		return invalid("the upload form has no content part holding the file")
	}
	for _, k := range []string{"name", "version", "filetype", "metadata_version"} {
		if f.get(k) == "" {
			return invalid("the upload form has no %s field", k)
		}
	}
	if _, err := (Rules{}).ParseName(f.get("name")); err != nil {
		return invalid("form field name: %w", err)
	}
	if _, err := (Rules{}).VersionKey(f.get("version")); err != nil {
		return invalid("form field version: %w", err)
	}
	switch ft, py := f.get("filetype"), f.get("pyversion"); ft {
	case kindSdist:
		if py != "" && py != "source" {
			return invalid("pyversion %q is not valid for an sdist; it must be source", clip(py, 40))
		}
	case kindWheel:
		if py == "" {
			return invalid("the upload form has no pyversion field; a wheel needs its Python tag, e.g. py3")
		}
	default:
		return invalid("filetype %q is not accepted: upload sdists (sdist) and wheels (bdist_wheel)", clip(ft, 40))
	}
	return f.checkDigests()
}

// checkDigests compares every digest the client declared with the
// received bytes. At least one must be declared.
func (f *form) checkDigests() error {
	got := f.content.Digests
	declared := 0
	for _, d := range []struct{ field, alg, want string }{
		{"sha256_digest", "SHA-256", string(got.SHA256)},
		{"blake2_256_digest", "BLAKE2b-256", got.Blake2b256},
		{"md5_digest", "MD5", got.MD5},
	} {
		v := strings.ToLower(f.get(d.field))
		if v == "" {
			continue
		}
		declared++
		if subtle.ConstantTimeCompare([]byte(v), []byte(d.want)) != 1 {
			return invalid("the %s digest of the received file is %s, but the form declares %s (%s): the file was corrupted in transit or changed since it was hashed; nothing was stored",
				d.alg, d.want, clip(v, 130), d.field)
		}
	}
	if declared == 0 {
		return invalid("the upload form declares no digest of the file; send sha256_digest (twine does)")
	}
	return nil
}

// parse reads the staged file's archive and metadata, checks that the
// form, the filename and the metadata agree, and returns the upload.
func (f *form) parse() (*registry.Upload, error) {
	fn, ft := f.filename, f.get("filetype")
	ds, err := parseFilename(fn)
	if err != nil {
		return nil, invalid("%w", err)
	}
	if ds[0].Kind != ft {
		return nil, invalid("filetype %s does not match the file %s, which is a %s", ft, fn, kindWord(ds[0].Kind))
	}
	st := f.content
	var raw []byte
	var metaFile string
	if ft == kindWheel {
		metaFile = "METADATA"
		raw, err = readWheel(st, st.Size(), ds[0])
	} else {
		metaFile = "PKG-INFO"
		raw, err = readSdist(st, st.Size(), ds[0].Ext, strings.TrimSuffix(fn, ds[0].Ext))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err) // invalid or too large, as the archive says
	}
	md, err := parseMetadata(raw)
	if err != nil {
		return nil, invalid("%s: %s: %w", fn, metaFile, err)
	}
	formName, formVersion := f.get("name"), f.get("version")
	if Normalize(formName) != Normalize(md.Name()) {
		return nil, invalid("the form's name %q does not match the Name %q in the file's %s", clip(formName, 100), md.Name(), metaFile)
	}
	if !sameVersion(formVersion, md.Version()) {
		return nil, invalid("the form's version %q does not match the Version %q in the file's %s", clip(formVersion, 100), md.Version(), metaFile)
	}
	if mv := f.get("metadata_version"); mv != md.MetadataVersion() {
		return nil, invalid("the form's metadata_version %q does not match the Metadata-Version %q in the file's %s", clip(mv, 20), md.MetadataVersion(), metaFile)
	}
	if _, err := matchFilename(fn, md.Name(), md.Version()); err != nil {
		return nil, invalid("%w", err)
	}
	pyversion := f.get("pyversion")
	if ft == kindSdist {
		pyversion = "source"
	}
	return newUpload(fn, ft, pyversion, st, raw, md)
}

// newUpload is the upload of one checked distribution file: st holds its
// bytes, raw its core metadata (md parsed), which a wheel serves as its
// PEP 658 metadata file, byte for byte.
func newUpload(fn, ft, pyversion string, st *registry.Staged, raw []byte, md *coreMetadata) (*registry.Upload, error) {
	attrs, err := json.Marshal(fileAttrs{PackageType: ft, PythonVersion: pyversion, RequiresPython: md.get("requires-python"),
		MetadataVersion: md.MetadataVersion()})
	if err != nil {
		return nil, err
	}
	rm, err := json.Marshal(md.release())
	if err != nil {
		return nil, err
	}
	uf := registry.UploadFile{Filename: fn, Kind: ft, Content: st, Attrs: attrs}
	if ft == kindWheel {
		uf.Metadata = raw
	}
	return &registry.Upload{Ecosystem: trove.PyPI, Name: md.Name(), Version: md.Version(), AddFiles: true,
		Metadata: rm, Files: []registry.UploadFile{uf}, Dependencies: requirements(md.all("requires-dist"))}, nil
}

// requirement matches a PEP 508 requirement: the project name, extras,
// and the version specifier (in parentheses or not), before any marker.
var requirement = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;()@]*)\)?`)

// requirements returns the dependencies of Requires-Dist values.
func requirements(reqs []string) []registry.Dependency {
	var out []registry.Dependency
	for _, r := range reqs {
		if m := requirement.FindStringSubmatch(r); m != nil {
			out = append(out, registry.Dependency{Name: m[1], Constraint: strings.TrimSpace(m[2])})
		}
	}
	return out
}

func kindWord(kind string) string {
	if kind == kindWheel {
		return "wheel (bdist_wheel)"
	}
	return "source distribution (sdist)"
}

// publishRetries bounds how often publish tries an upload that finds its
// release or filename held, invisible, by a concurrent upload (CI jobs
// uploading the wheels of one new version at once: trove.ErrInProgress),
// and retryDelay how long it waits before the next try.
const (
	publishRetries = 8
	retryDelay     = 50 * time.Millisecond
	maxRetryDelay  = 250 * time.Millisecond
)

// publish publishes an upload of one file and reports whether it was an
// identical re-upload. A conflict is looked at closely: the same file
// already visible (uploaded before, or just now by a concurrent request)
// is success, as in warehouse, so that retried uploads are idempotent;
// another file under the name is "File already exists", which twine's
// --skip-existing recognizes; a release a concurrent upload holds in
// quarantine for a moment is retried.
func (h *Handler) publish(ctx context.Context, who *access.Principal, up *registry.Upload, name trove.Name) (bool, error) {
	uf := up.Files[0]
	for attempt := 1; ; attempt++ {
		res, err := h.o.Registry.Publish(ctx, who, up)
		if err == nil {
			return res.Unchanged, nil
		}
		if !errors.Is(err, trove.ErrExists) {
			return false, err
		}
		f, ferr := h.o.Registry.File(ctx, trove.PyPI, name, uf.Filename)
		switch {
		case ferr == nil && f.SHA256 == string(uf.Content.Digests.SHA256):
			return true, nil
		case ferr == nil:
			return false, trove.Error(trove.ErrExists,
				"File already exists: %s was uploaded before with different content (sha256 %s); a filename can never be reused, even after deletion: publish a new version",
				uf.Filename, f.SHA256)
		case !errors.Is(ferr, trove.ErrNotFound):
			return false, ferr
		case !errors.Is(err, trove.ErrInProgress), attempt == publishRetries:
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-time.After(min(time.Duration(attempt)*retryDelay, maxRetryDelay)):
		}
	}
}
