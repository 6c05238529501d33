package goproxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGoSum(t *testing.T) {
	in := "example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n\n"
	got, err := ParseGoSum([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []GoSumLine{
		{Line: 1, Module: "example.com/m", Version: "v1.0.0", Hash: "h1:abc=", Text: "example.com/m v1.0.0 h1:abc="},
		{Line: 2, Module: "example.com/m", Version: "v1.0.0", GoMod: true, Hash: "h1:def=", Text: "example.com/m v1.0.0/go.mod h1:def="},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseGoSum mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"example.com/m v1.0.0\n", "example.com/m  v1.0.0 h1:x\n", "m /go.mod h1:x\n", "m v1 nohash\n"} {
		if _, err := ParseGoSum([]byte(bad)); err == nil {
			t.Errorf("ParseGoSum(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParseGoSum(f *testing.F) {
	f.Add([]byte("example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseGoSum(data)
		if err != nil {
			return
		}
		for _, l := range lines {
			v := l.Version
			if l.GoMod {
				v += "/go.mod"
			}
			if l.Text != l.Module+" "+v+" "+l.Hash || !strings.Contains(string(data), l.Text) {
				t.Errorf("ParseGoSum(%q): line %+v does not round-trip", data, l)
			}
		}
	})
}

func TestGoSumRead(t *testing.T) {
	r, err := GoSum{}.Read([]byte("example.com/m v1.0.0 h1:abc=\nexample.com/n v1.0.0 h1:x=\nexample.com/m v1.0.0/go.mod h1:def=\n"), "")
	if err != nil || len(r.Pins) != 2 || len(r.Pins[0].Lines) != 2 || r.Pins[0].Lines[1].Where != "go.sum line 3" || r.Pins[1].Name != "example.com/n" {
		t.Errorf("Read = %+v, %v", r, err)
	}
}
