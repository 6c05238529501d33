package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/config"
)

// fakeClients answers the clients' commands from a table.
func fakeClients(answers map[string]string) runner {
	return func(ctx context.Context, name string, args ...string) (string, error) {
		key := name + " " + strings.Join(args, " ")
		if strings.HasPrefix(key, "python3 -c") {
			key = "python3 -c"
		}
		out, ok := answers[key]
		if !ok {
			return "", errors.New("exec: " + name + ": not found")
		}
		return out, nil
	}
}

func TestDetectUpstreams(t *testing.T) {
	const key = "sum.example+f3c1c968+ATBKj8DMBHB3xusVQFKM6NwKRuoox1L7IkxSFd08tES8"
	found, missing := detectUpstreams(context.Background(), fakeClients(map[string]string{
		"npm config get registry": "https://npm.example/",
		"pip config list":         "global.index-url='https://low.example/simple'\n:env:.index-url='https://pypi.example/simple/'\n:env:.cert='/x'",
		"go env GOPROXY GOSUMDB":  "https://proxy.example,https://backup.example|direct\nsum.example",
	}), key)
	if len(missing) != 0 {
		t.Fatalf("missing = %v", missing)
	}
	var b strings.Builder
	for _, d := range found {
		b.WriteString(d.toml())
	}
	got := b.String()
	for _, want := range []string{
		"[[upstream.sources.npm]]\nname = \"npm.example\"\nurl = \"https://npm.example\"\n",
		"[[upstream.sources.pypi]]\nname = \"pypi.example\"\nurl = \"https://pypi.example\"\n",
		"[[upstream.sources.go]]\nname = \"proxy.example\"\nurl = \"https://proxy.example\"\nsumdb = \"" + key + "\"\n",
		"[[upstream.sources.go]]\nname = \"backup.example\"\nurl = \"https://backup.example\"\nsumdb = \"" + key + "\"\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("detected settings:\n%s\nlack:\n%s", got, want)
		}
	}
	// The settings are a valid configuration.
	path := filepath.Join(t.TempDir(), "trove.toml")
	if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetUploadLimits(uploadLimits())
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatalf("detected settings do not validate: %v\n%s", err, got)
	}
}

func TestDetectUpstreamsDefaultsAndGaps(t *testing.T) {
	found, missing := detectUpstreams(context.Background(), fakeClients(map[string]string{
		"pip config list":        ":env:.cert='/x'",
		"python3 -c":             "https://index.example/simple files.example",
		"go env GOPROXY GOSUMDB": "https://proxy.example,direct\nsum.example",
	}), "")
	if len(missing) != 1 || !strings.Contains(missing[0], "npm config get registry") {
		t.Fatalf("missing = %v, want npm only", missing)
	}
	var pip, gosrc detected
	for _, d := range found {
		switch d.eco {
		case "pypi":
			pip = d
		case "go":
			gosrc = d
		}
	}
	if pip.url != "https://index.example" || len(pip.artifactHosts) != 1 || pip.artifactHosts[0] != "files.example" {
		t.Fatalf("pip's default = %+v", pip)
	}
	if gosrc.problem == "" || !strings.Contains(gosrc.toml(), "# [[upstream.sources.go]]") {
		t.Fatalf("a go source without a checksum database key must be left commented out: %+v\n%s", gosrc, gosrc.toml())
	}
	if _, err := detectGo(context.Background(), fakeClients(map[string]string{"go env GOPROXY GOSUMDB": "https://p.example\nsum.example"}), "other.example+1+2"); err == nil {
		t.Fatal("a key of another database was accepted")
	}
}
