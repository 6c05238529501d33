package translog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr(s string) *string { return &s }

func TestEventFormat(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 30, 5, 123, time.UTC)
	sum := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name string
		e    Event
		want string
	}{
		{"npm publish", Event{Kind: "publish", Ecosystem: "npm", Name: "@acme/demo", Version: "1.0.0", Time: at,
			Files: []FileDigest{{"demo-1.0.0.tgz", sum}}, Tags: []TagChange{{"latest", "1.0.0"}}},
			"trove-event 1\npublish npm @acme/demo 1.0.0\ntime 2026-11-22T09:30:05Z\nfile demo-1.0.0.tgz sha256:" + sum + "\ntag latest 1.0.0\n"},
		{"yank", Event{Kind: "yank", Ecosystem: "pypi", Name: "demo", Version: "1.0", Time: at, Reason: ptr("broken \"build\"\nsorry")},
			"trove-event 1\nyank pypi demo 1.0\ntime 2026-11-22T09:30:05Z\nreason \"broken \\\"build\\\"\\nsorry\"\n"},
		{"undeprecate", Event{Kind: "deprecate", Ecosystem: "npm", Name: "x", Version: "2.0.0", Time: at, Message: ptr("")},
			"trove-event 1\ndeprecate npm x 2.0.0\ntime 2026-11-22T09:30:05Z\nmessage \"\"\n"},
		{"untag and owners", Event{Kind: "owner", Ecosystem: "npm", Name: "x", Time: at, Tags: []TagChange{{Tag: "beta"}},
			Owners: []OwnerChange{{Add: true, User: "bob"}, {User: "carol"}}},
			"trove-event 1\nowner npm x\ntime 2026-11-22T09:30:05Z\nuntag beta\nowner add bob\nowner remove carol\n"},
		{"go publish", Event{Kind: "publish", Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Time: at,
			Files: []FileDigest{{"v1.0.0.zip", sum}},
			Lines: []string{"example.com/m v1.0.0 h1:abc=", "example.com/m v1.0.0/go.mod h1:def="}},
			"trove-event 1\npublish go example.com/m v1.0.0\ntime 2026-11-22T09:30:05Z\nfile v1.0.0.zip sha256:" + sum +
				"\nexample.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n"},
		{"go proxy", Event{Kind: "proxy", Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Time: at,
			Upstream: &Upstream{Name: "public", URL: "http://up.test/go/example.com/m/@v/v1.0.0.zip"},
			Files:    []FileDigest{{"v1.0.0.zip", sum}}, Lines: []string{"example.com/m v1.0.0 h1:abc="}},
			"trove-event 1\nproxy go example.com/m v1.0.0\ntime 2026-11-22T09:30:05Z\nsource public http://up.test/go/example.com/m/@v/v1.0.0.zip\nfile v1.0.0.zip sha256:" + sum +
				"\nexample.com/m v1.0.0 h1:abc=\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.e.Format()
			if err != nil || string(got) != tc.want {
				t.Fatalf("Format = %q, %v\nwant %q", got, err, tc.want)
			}
			back, err := ParseEvent(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.e
			want.Time = want.Time.Truncate(time.Second)
			if diff := cmp.Diff(&want, back); diff != "" {
				t.Errorf("ParseEvent(Format(e)) differs (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []Event{
		{Kind: "publish", Ecosystem: "npm", Name: "has space", Time: at},
		{Kind: "publish", Ecosystem: "npm", Name: "x", Version: "1.0\n", Time: at},
		{Kind: "publish", Ecosystem: "npm", Name: "x"},
		{Kind: "publish", Ecosystem: "npm", Name: "x", Time: at, Files: []FileDigest{{"f", "ABC"}}},
		{Kind: "publish", Ecosystem: "go", Name: "example.com/m", Time: at, Lines: []string{"other.com/m v1 h1:x"}},
		{Kind: "", Ecosystem: "npm", Name: "x", Time: at},
		{Kind: "proxy", Ecosystem: "npm", Name: "x", Time: at, Upstream: &Upstream{Name: "public", URL: "http://up.test/a b"}},
		{Kind: "proxy", Ecosystem: "npm", Name: "x", Time: at, Upstream: &Upstream{URL: "http://up.test/x"}},
	} {
		if b, err := bad.Format(); err == nil {
			t.Errorf("Format(%+v) = %q, want an error", bad, b)
		}
	}
}

func TestParseEventRejects(t *testing.T) {
	for _, bad := range []string{
		"", "trove-event 1\n", "trove-event 2\npublish npm x\ntime 2026-11-22T09:30:05Z\n",
		"trove-event 1\npublish npm x\ntime 2026-11-22T09:30:05Z", // no final newline
		"trove-event 1\npublish npm x\ntime yesterday\n",
		"trove-event 1\npublish npm x\ntime 2026-11-22T09:30:05Z\n\n",
		"trove-event 1\npublish npm x\ntime 2026-11-22T09:30:05+01:00\n", // not canonical UTC
		"trove-event 1\nyank npm x 1.0.0\ntime 2026-11-22T09:30:05Z\nreason unquoted\n",
		"trove-event 1\npublish npm x 1.0.0\ntime 2026-11-22T09:30:05Z\ntag latest 1.0.0\nfile a sha256:" + strings.Repeat("0", 64) + "\n", // order
		"trove-event 1\nproxy npm x 1.0.0\ntime 2026-11-22T09:30:05Z\nsource public\n",
		"trove-event 1\nproxy npm x 1.0.0\ntime 2026-11-22T09:30:05Z\nfile a sha256:" + strings.Repeat("0", 64) + "\nsource public http://u\n", // order
	} {
		if e, err := ParseEvent([]byte(bad)); err == nil {
			t.Errorf("ParseEvent(%q) = %+v, want an error", bad, e)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte("trove-event 1\npublish npm @acme/demo 1.0.0\ntime 2026-11-22T09:30:05Z\nfile demo-1.0.0.tgz sha256:" + strings.Repeat("0f", 32) + "\ntag latest 1.0.0\n"))
	f.Add([]byte("trove-event 1\nyank pypi demo 1.0\ntime 2026-11-22T09:30:05Z\nreason \"x\"\n"))
	f.Add([]byte("trove-event 1\npublish go example.com/m v1.0.0\ntime 2026-11-22T09:30:05Z\nexample.com/m v1.0.0 h1:abc=\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		e, err := ParseEvent(text)
		if err != nil {
			return
		}
		again, err := e.Format()
		if err != nil || string(again) != string(text) {
			t.Fatalf("Format(ParseEvent(%q)) = %q, %v", text, again, err)
		}
		if _, err := ParseEvent(again); err != nil {
			t.Fatalf("reparse: %v", err)
		}
	})
}
