package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The factor key
//
// TOTP secrets are sealed with AES-256-GCM under a 32-byte key kept in a
// file outside the database (accounts.factor_key_file, by default
// <data_dir>/keys/factors.key): a copy of the database or a backup alone
// does not give the secrets away. Servers sharing a database need the same
// file, like the transparency log's keys; a server started with another
// key refuses to start (Factors.CheckKey) rather than fail every sign-in.
//
// A sealed secret is "v1:" + base64(nonce || ciphertext); the additional
// data is the user id, so a secret copied into another user's row does not
// open.

// FactorKeySize is the size of the factor key.
const FactorKeySize = 32

const sealVersion = "v1:"

// LoadOrCreateFactorKey reads the factor key from path, creating it
// (mode 0600, directory 0700) with a random key if it does not exist. The
// file holds the key in hex.
func LoadOrCreateFactorKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createFactorKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the factor key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != FactorKeySize {
		return nil, fmt.Errorf("factor key %s must hold %d bytes in hex (64 characters): restore the file from a backup of this server", path, FactorKeySize)
	}
	return key, nil
}

func createFactorKey(path string) ([]byte, error) {
	key := make([]byte, FactorKeySize)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the factor key's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // created meanwhile by another process
		return LoadOrCreateFactorKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the factor key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err2 := f.Sync(); err == nil {
		err = err2
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing the factor key: %w", err)
	}
	return key, nil
}

// A sealer seals and opens TOTP secrets.
type sealer struct {
	aead cipher.AEAD
	fp   string
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != FactorKeySize {
		return nil, fmt.Errorf("factor key: %d bytes, want %d", len(key), FactorKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("trove factor key fingerprint\x00"), key...))
	return &sealer{aead: aead, fp: hex.EncodeToString(sum[:16])}, nil
}

// fingerprint names the key without giving it away.
func (s *sealer) fingerprint() string { return s.fp }

func (s *sealer) seal(userID int64, secret string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(strconv.FormatInt(userID, 10)))
	return sealVersion + base64.StdEncoding.EncodeToString(out)
}

// errWrongKey reports a secret that does not open: sealed under another
// factor key, or for another user.
var errWrongKey = errors.New("a TOTP secret does not open with this server's factor key (accounts.factor_key_file): servers sharing a database need the same key file")

func (s *sealer) open(userID int64, sealed string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, sealVersion)
	b, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(b) < s.aead.NonceSize() {
		return "", errWrongKey
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(strconv.FormatInt(userID, 10)))
	if err != nil {
		return "", errWrongKey
	}
	return string(plain), nil
}
