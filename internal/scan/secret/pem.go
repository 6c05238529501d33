package secret

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"regexp"
	"strings"
)

// sourceMap matches source maps: they repeat the sources they map (which
// are searched themselves) inside JSON strings, where identifiers and
// escaped text look like keys to the context rules.
var sourceMap = regexp.MustCompile(`\.(?:js|mjs|cjs|css)\.map$`)

// pemBlock splits a PEM-shaped match into its label and its body's
// characters (headers, whitespace and escaped newlines removed).
var pemBlock = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----([\s\S]*?)-----END`)

// plausibleKey reports whether a private-key match could be a usable key:
// its body is base64 that decodes to a key of its label's kind. Examples
// in documentation and type declarations are elided ("MIIEpQ...",
// "Kh9NV..."), and an elided key is no credential. Encrypted keys and
// kinds without a parser here (DSA, PGP, PuTTY) count when their body
// decodes to enough bytes to be a key.
func plausibleKey(match string) bool {
	m := pemBlock.FindStringSubmatch(strings.ReplaceAll(match, `\n`, "\n"))
	if m == nil {
		return true // not PEM-shaped: leave it to the rule
	}
	label, text := m[1], m[2]
	var body strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, ":") {
			return true // Proc-Type, DEK-Info: an encrypted key
		}
		body.WriteString(strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '"' || r == '\'' || r == ',' {
				return -1
			}
			return r
		}, line))
	}
	b := strings.TrimRight(body.String(), "=")
	der, err := base64.RawStdEncoding.DecodeString(b)
	if err != nil || len(der) < 32 {
		return false
	}
	switch label {
	case "RSA PRIVATE KEY":
		_, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		_, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		// Any PKCS #8 structure, whatever its algorithm.
		var p struct {
			Version int
			Algo    asn1.RawValue
			Key     []byte
		}
		_, err = asn1.Unmarshal(der, &p)
	case "OPENSSH PRIVATE KEY":
		if !bytes.HasPrefix(der, []byte("openssh-key-v1\x00")) {
			return false
		}
	}
	return err == nil
}
