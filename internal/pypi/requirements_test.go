package pypi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	h1 = strings.Repeat("a", 64)
	h2 = strings.Repeat("B", 64)
)

func TestParseRequirements(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Requirement
		wantErr  string
	}{
		{"continuations and comments", "# pinned\n--index-url http://x/simple/\n\nDemo_Pkg==1.0 \\\n    --hash=sha256:" + h1 + " \\\n    --hash=sha256:" + h2 + "  # both files\nother[extra] == 2.0 ; python_version >= \"3.8\" --hash sha256:" + h1 + "\n",
			[]Requirement{{Line: 4, Name: "Demo_Pkg", Version: "1.0", SHA256: []string{h1, strings.ToLower(h2)}}, {Line: 7, Name: "other", Version: "2.0", SHA256: []string{h1}}}, ""},
		{"crlf and tabs", "a==1\t--hash=sha256:" + h1 + "\r\n", []Requirement{{Line: 1, Name: "a", Version: "1", SHA256: []string{h1}}}, ""},
		{"no pin", "demo>=1.0 --hash=sha256:" + h1 + "\n", nil, "not pinned to one version"},
		{"arbitrary equality", "demo===1.0 --hash=sha256:" + h1 + "\n", nil, "not pinned"},
		{"no hash", "demo==1.0\n", nil, "no --hash=sha256"},
		{"other algorithm", "demo==1.0 --hash=sha512:abcd\n", nil, "sha256 digests only"},
		{"short hash", "demo==1.0 --hash=sha256:abcd\n", nil, "not 64 hex digits"},
		{"include", "-r base.txt\n", nil, "not followed"},
		{"editable", "-e .\n", nil, "editable"},
		{"url", "demo @ https://x/demo.whl --hash=sha256:" + h1 + "\n", nil, "not pinned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequirements([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRequirements(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRequirements(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func FuzzParseRequirements(f *testing.F) {
	f.Add([]byte("a==1 \\\n  --hash=sha256:" + h1 + " # c\n-i http://x\n"))
	f.Add([]byte("a[x]==1;python_version<'3' --hash sha256:" + h2 + "\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := ParseRequirements(data)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if r.Name == "" || r.Version == "" || len(r.SHA256) == 0 {
				t.Errorf("ParseRequirements(%q) returned an incomplete requirement %+v", data, r)
			}
			for _, h := range r.SHA256 {
				if !isHex64(h) || strings.ToLower(h) != h {
					t.Errorf("ParseRequirements(%q) returned hash %q", data, h)
				}
			}
		}
	})
}

func TestRequirementsRead(t *testing.T) {
	r, err := Requirements{}.Read([]byte("demo==1.0 --hash=sha256:"+h1+"\nother==2.0\nloose>=1\n"), "")
	if err != nil || len(r.Pins) != 1 || r.Pins[0].Files[0].Where != "--hash on line 1" || len(r.Fails) != 2 || !strings.Contains(r.Hint, "pip-compile --generate-hashes") {
		t.Errorf("Read = %+v, %v", r, err)
	}
}
