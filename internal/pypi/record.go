package pypi

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"hash"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
)

// recordHashes are the algorithms a RECORD may use: sha256 and stronger
// (the binary distribution format forbids md5 and sha1).
var recordHashes = map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}

// A recordRow is what RECORD says of one file.
type recordRow struct {
	alg    string // "" for a file listed without a hash
	digest []byte
	size   int64
}

// checkRecord checks a wheel's RECORD (PEP 376, PEP 427): every file of
// the wheel is listed exactly once with its sha256 (or stronger) hash and
// its size, which must match; only RECORD itself and its signatures
// (RECORD.jws, RECORD.p7s) go without a hash, and the signatures may go
// unlisted; nothing listed may be missing. Installers check the hashes
// while they extract; Trove refuses a wheel that would fail there, or
// whose RECORD hides files from them.
func checkRecord(z *archive.Zip, dir string) error {
	path := dir + "/RECORD"
	b, err := z.ReadFile(path, MaxRecordBytes)
	if err != nil {
		return err
	}
	rows, err := parseRecord(b, path)
	if err != nil {
		return err
	}
	err = z.Walk(func(e archive.Entry, r io.Reader) error {
		if e.Dir {
			return nil
		}
		row, listed := rows[e.Name]
		delete(rows, e.Name)
		return checkListed(path, e, r, row, listed)
	})
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		missing := slices.Sorted(maps.Keys(rows))
		return invalid("%s lists %q, which is not a file in the wheel", path, clip(missing[0], 200))
	}
	return nil
}

// checkListed checks one file of the wheel against its row in RECORD.
func checkListed(path string, e archive.Entry, r io.Reader, row recordRow, listed bool) error {
	name := clip(e.Name, 200)
	switch {
	case e.Name == path && !listed:
		return invalid("%s does not list itself (every file of a wheel is listed, RECORD itself with an empty hash and size)", path)
	case e.Name == path && row.alg != "":
		return invalid("%s lists itself with a hash; its hash and size must be empty", path)
	case e.Name == path, isSignature(path, e.Name) && (!listed || row.alg == ""):
		return nil
	case !listed:
		return invalid("%s does not list %q: every file of a wheel must be listed with its sha256 hash and size", path, name)
	case row.alg == "":
		return invalid("%s lists %q without a hash: every file but RECORD and its signatures needs sha256=<urlsafe-base64 digest> and its size", path, name)
	}
	h := recordHashes[row.alg]()
	n, err := io.Copy(h, r)
	switch {
	case err != nil:
		return err
	case n != row.size:
		return invalid("%s says %q has %d bytes, but it has %d", path, name, row.size, n)
	case !bytes.Equal(h.Sum(nil), row.digest):
		return invalid("%s: the %s hash of %q does not match: RECORD says %s, the file's is %s", path, row.alg, name,
			base64.RawURLEncoding.EncodeToString(row.digest), base64.RawURLEncoding.EncodeToString(h.Sum(nil)))
	}
	return nil
}

// isSignature reports whether name is a signature of the RECORD at path.
func isSignature(path, name string) bool {
	return name == path+".jws" || name == path+".p7s"
}

// parseRecord parses RECORD as CSV rows of path, hash and size, with each
// path listed once and inside the wheel.
func parseRecord(b []byte, path string) (map[string]recordRow, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1 // counted below, for a clearer message
	rows := make(map[string]recordRow)
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, invalid("%s is not valid CSV: %v", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(fields) != 3 {
			return nil, invalid("%s line %d has %d fields; want path,hash,size", path, line, len(fields))
		}
		p := fields[0]
		if err := archive.CheckName(p, archive.MaxNameLen); err != nil || strings.HasSuffix(p, "/") {
			return nil, invalid("%s line %d lists %q, a path outside the wheel or not a file", path, line, clip(p, 200))
		}
		if _, dup := rows[p]; dup {
			return nil, invalid("%s lists %q more than once", path, clip(p, 200))
		}
		row, err := parseRecordRow(fields[1], fields[2])
		if err != nil {
			return nil, invalid("%s line %d (%q): %v", path, line, clip(p, 200), err)
		}
		rows[p] = row
	}
}

// parseRecordRow parses a row's hash ("sha256=<urlsafe-b64-nopad>") and
// size, both present or both empty.
func parseRecordRow(hashField, sizeField string) (recordRow, error) {
	if hashField == "" && sizeField == "" {
		return recordRow{}, nil
	}
	alg, enc, _ := strings.Cut(hashField, "=")
	newHash := recordHashes[alg]
	switch {
	case hashField == "":
		return recordRow{}, invalid("a size without a hash")
	case alg == "md5" || alg == "sha1" || alg == "sha224":
		return recordRow{}, invalid("the hash algorithm %s is too weak; use sha256", alg)
	case newHash == nil:
		return recordRow{}, invalid("unknown hash algorithm %q; use sha256", clip(alg, 20))
	}
	digest, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(digest) != newHash().Size() {
		return recordRow{}, invalid("the %s digest %q is not %d bytes in urlsafe base64 without padding", alg, clip(enc, 100), newHash().Size())
	}
	size, err := strconv.ParseInt(sizeField, 10, 64)
	if err != nil || size < 0 {
		return recordRow{}, invalid("the size %q is not a number of bytes", clip(sizeField, 30))
	}
	return recordRow{alg: alg, digest: digest, size: size}, nil
}
