package pypi

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

// TestRecord checks a wheel's RECORD against its files: each wheel below
// differs from a good one in one way, and is refused with the file named.
func TestRecord(t *testing.T) {
	const di = "demo-1.0.dist-info/"
	code := zipEntry{Name: "demo/__init__.py", Body: "VALUE = 1\n"}
	md := zipEntry{Name: di + "METADATA", Body: testMetadata}
	wheel := zipEntry{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}
	files := []zipEntry{code, md, wheel}
	good := recordOf(di+"RECORD", files).Body
	codeRow := "demo/__init__.py,sha256=" + b64(sha256Of(code.Body)) + ",10\n"
	rest := strings.Replace(good, codeRow, "", 1)
	for _, tc := range []struct {
		name, record string
		extra        []zipEntry
		want         string // "" for a wheel that passes
	}{
		{"good", good, nil, ""},
		{"sha512", strings.Replace(good, codeRow, "demo/__init__.py,sha512="+b64(sha512Of(code.Body))+",10\n", 1), nil, ""},
		{"CRLF and quoting", strings.ReplaceAll(strings.Replace(good, "demo/__init__.py", `"demo/__init__.py"`, 1), "\n", "\r\n"), nil, ""},
		{"unlisted signature", good, []zipEntry{{Name: di + "RECORD.jws", Body: "{}"}}, ""},
		{"signature without a hash", good + di + "RECORD.p7s,,\n", []zipEntry{{Name: di + "RECORD.p7s", Body: "sig"}}, ""},
		{"file not listed", rest, nil, `demo-1.0.dist-info/RECORD does not list "demo/__init__.py"`},
		{"listed file missing", good + "demo/gone.py,sha256=" + b64(sha256Of("")) + ",0\n", nil, `lists "demo/gone.py", which is not a file in the wheel`},
		{"hash mismatch", strings.Replace(good, codeRow, "demo/__init__.py,sha256="+b64(sha256Of("VALUE = 2\n"))+",10\n", 1), nil, `the sha256 hash of "demo/__init__.py" does not match`},
		{"size mismatch", strings.Replace(good, codeRow, "demo/__init__.py,sha256="+b64(sha256Of(code.Body))+",11\n", 1), nil, `says "demo/__init__.py" has 11 bytes, but it has 10`},
		{"md5", strings.Replace(good, codeRow, "demo/__init__.py,md5="+b64(md5Of(code.Body))+",10\n", 1), nil, "the hash algorithm md5 is too weak; use sha256"},
		{"sha1", strings.Replace(good, codeRow, "demo/__init__.py,sha1="+b64(sha1Of(code.Body))+",10\n", 1), nil, "sha1 is too weak"},
		{"unknown algorithm", strings.Replace(good, codeRow, "demo/__init__.py,crc32=AAAA,10\n", 1), nil, `unknown hash algorithm "crc32"`},
		{"padded base64", strings.Replace(good, codeRow, "demo/__init__.py,sha256="+b64(sha256Of(code.Body))+"=,10\n", 1), nil, "urlsafe base64 without padding"},
		{"file without a hash", strings.Replace(good, codeRow, "demo/__init__.py,,\n", 1), nil, `lists "demo/__init__.py" without a hash`},
		{"hash without a size", strings.Replace(good, codeRow, "demo/__init__.py,sha256="+b64(sha256Of(code.Body))+",\n", 1), nil, "is not a number of bytes"},
		{"listed twice", good + codeRow, nil, `lists "demo/__init__.py" more than once`},
		{"path escaping the wheel", good + "../../etc/passwd,sha256=" + b64(sha256Of("")) + ",0\n", nil, `lists "../../etc/passwd", a path outside the wheel`},
		{"absolute path", good + "/etc/passwd,,\n", nil, "a path outside the wheel"},
		{"RECORD not listed", strings.Replace(good, di+"RECORD,,\n", "", 1), nil, "RECORD does not list itself"},
		{"RECORD with a hash", strings.Replace(good, di+"RECORD,,\n", di+"RECORD,sha256="+b64(sha256Of(""))+",0\n", 1), nil, "lists itself with a hash"},
		{"two fields", good + "demo/x.py,sha256=abc\n", nil, "has 2 fields; want path,hash,size"},
		{"not CSV", good + "\"demo/x.py,,\n", nil, "is not valid CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries := append(append([]zipEntry{}, files...), tc.extra...)
			b := makeZip(t, append(entries, zipEntry{Name: di + "RECORD", Body: tc.record})...)
			_, err := readWheel(bytes.NewReader(b), int64(len(b)), demoWheel)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("readWheel: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, trove.ErrInvalid) {
				t.Fatalf("readWheel = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
	noRecord := makeZip(t, files...)
	if _, err := readWheel(bytes.NewReader(noRecord), int64(len(noRecord)), demoWheel); err == nil || !strings.Contains(err.Error(), "no demo-1.0.dist-info/RECORD") {
		t.Errorf("readWheel(no RECORD) = %v", err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sha256Of(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
func sha512Of(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:] }
func md5Of(s string) []byte    { h := md5.Sum([]byte(s)); return h[:] }
func sha1Of(s string) []byte   { h := sha1.Sum([]byte(s)); return h[:] }
