package backup

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/meta"
)

// An Archive is a backup opened for reading. Its parts are checked against
// the manifest as they are read.
type Archive struct {
	Manifest *Manifest
	files    map[string]*zip.File
	closer   io.Closer
}

// Open opens the backup at path and checks its layout and manifest.
func Open(path string) (*Archive, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	a, err := newArchive(&zr.Reader)
	if err != nil {
		zr.Close()
		return nil, err
	}
	a.closer = zr
	return a, nil
}

// NewArchive reads a backup from r, of size bytes.
func NewArchive(r io.ReaderAt, size int64) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return newArchive(zr)
}

// Close closes the archive's file.
func (a *Archive) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

func newArchive(zr *zip.Reader) (*Archive, error) {
	a := &Archive{files: map[string]*zip.File{}}
	for _, f := range zr.File {
		if a.files[f.Name] != nil {
			return nil, fmt.Errorf("%w: the archive holds %s twice", ErrInvalid, f.Name)
		}
		a.files[f.Name] = f
	}
	mf := a.files[manifestName]
	if mf == nil {
		return nil, fmt.Errorf("%w: no %s in the archive", ErrInvalid, manifestName)
	}
	b, err := readLimited(mf, MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	if a.Manifest, err = parseManifest(b); err != nil {
		return nil, err
	}
	return a, a.checkParts()
}

// checkParts checks that the archive holds exactly the parts the manifest
// lists, each a part this version knows.
func (a *Archive) checkParts() error {
	known := []string{blobsName, verifierName, checkpointName, signerName}
	for _, t := range meta.DumpTables() {
		known = append(known, tablePrefix+t+tableSuffix)
	}
	listed := map[string]bool{}
	for _, p := range a.Manifest.Parts {
		if !slices.Contains(known, p.Name) {
			if strings.HasPrefix(p.Name, tablePrefix) {
				return fmt.Errorf("%w: it holds table %s, which this trove's schema lacks (was it made by a newer trove?)", ErrInvalid,
					strings.TrimSuffix(strings.TrimPrefix(p.Name, tablePrefix), tableSuffix))
			}
			return fmt.Errorf("%w: unknown part %s", ErrInvalid, p.Name)
		}
		if listed[p.Name] {
			return fmt.Errorf("%w: the manifest lists %s twice", ErrInvalid, p.Name)
		}
		listed[p.Name] = true
		if a.files[p.Name] == nil {
			return fmt.Errorf("%w: the manifest lists %s, which the archive lacks", ErrInvalid, p.Name)
		}
	}
	for name := range a.files {
		if name != manifestName && !listed[name] {
			return fmt.Errorf("%w: the archive holds %s, which the manifest does not list", ErrInvalid, name)
		}
	}
	for _, need := range []string{blobsName, verifierName} {
		if !listed[need] {
			return fmt.Errorf("%w: no %s in the archive", ErrInvalid, need)
		}
	}
	return nil
}

func readLimited(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, f.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, f.Name, limit)
	}
	return b, nil
}

// has reports whether the archive holds the part.
func (a *Archive) has(name string) bool {
	_, ok := a.Manifest.part(name)
	return ok
}

// open opens a part for reading; its finish checks it against the manifest.
func (a *Archive) open(name string) (*partReader, error) {
	p, ok := a.Manifest.part(name)
	if !ok {
		return nil, fmt.Errorf("%w: no %s in the archive", ErrInvalid, name)
	}
	rc, err := a.files[name].Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return &partReader{rc: rc, h: sha256.New(), want: p}, nil
}

// small reads a small part whole and checks it.
func (a *Archive) small(name string) ([]byte, error) {
	if p, ok := a.Manifest.part(name); ok && p.Bytes > maxSmallPart {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, name, maxSmallPart)
	}
	pr, err := a.open(name)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(pr, maxSmallPart+1))
	if err == nil && len(b) > maxSmallPart {
		err = fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, name, maxSmallPart)
	}
	if ferr := pr.finish(); err == nil {
		err = ferr
	}
	return b, err
}

// A partReader hashes a part as it is read.
type partReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	want Part
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.rc.Read(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	return n, err
}

// finish reads what is left of the part, closes it, and checks its size
// and SHA-256 against the manifest.
func (p *partReader) finish() error {
	_, err := io.Copy(io.Discard, p)
	p.rc.Close()
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrInvalid, p.want.Name, err)
	}
	if got := hex.EncodeToString(p.h.Sum(nil)); p.n != p.want.Bytes || got != p.want.SHA256 {
		return fmt.Errorf("%w: %s has %d bytes with sha256 %s, but the manifest lists %d bytes with sha256 %s",
			ErrInvalid, p.want.Name, p.n, got, p.want.Bytes, p.want.SHA256)
	}
	return nil
}

// VerifierKey returns the log's public key the backup holds.
func (a *Archive) VerifierKey() ([]byte, error) { return a.small(verifierName) }

// SigningKey returns the log's private key, or nil if the backup was made
// without it.
func (a *Archive) SigningKey() ([]byte, error) {
	if !a.has(signerName) {
		return nil, nil
	}
	return a.small(signerName)
}
