package blob

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"

	"golang.org/x/crypto/blake2b"
)

// Digests are every digest of one byte stream that some ecosystem needs:
// SHA-256 (the blob key, PyPI), SHA-512 and SHA-1 (npm integrity and shasum),
// BLAKE2b-256 (PyPI) and MD5 (only to check what old twine versions declare;
// never trusted on its own). All values are lowercase hex.
type Digests struct {
	SHA256     Digest
	SHA512     string
	SHA1       string
	Blake2b256 string
	MD5        string
	Size       int64
}

// Integrity returns the npm Subresource Integrity string "sha512-<base64>".
func (d Digests) Integrity() string {
	b, err := hex.DecodeString(d.SHA512)
	if err != nil {
		return ""
	}
	return "sha512-" + base64.StdEncoding.EncodeToString(b)
}

// A Hasher computes Digests of everything written to it, in one pass.
type Hasher struct {
	sha256, sha512, sha1, blake2b, md5 hash.Hash
	w                                  io.Writer
	n                                  int64
}

// NewHasher returns a Hasher with nothing written.
func NewHasher() *Hasher {
	b2, err := blake2b.New256(nil)
	if err != nil {
		panic(err) // only fails for a key longer than 64 bytes
	}
	h := &Hasher{sha256: sha256.New(), sha512: sha512.New(), sha1: sha1.New(), blake2b: b2, md5: md5.New()}
	h.w = io.MultiWriter(h.sha256, h.sha512, h.sha1, h.blake2b, h.md5)
	return h
}

// Write adds p to the running digests. It never returns an error.
func (h *Hasher) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.w.Write(p)
}

// Digests returns the digests of the bytes written so far.
func (h *Hasher) Digests() Digests {
	hx := func(x hash.Hash) string { return hex.EncodeToString(x.Sum(nil)) }
	return Digests{
		SHA256:     Digest(hx(h.sha256)),
		SHA512:     hx(h.sha512),
		SHA1:       hx(h.sha1),
		Blake2b256: hx(h.blake2b),
		MD5:        hx(h.md5),
		Size:       h.n,
	}
}
