//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Go upstream test: Down, with Up as its only Go upstream (its
// checksum database as the upstream database), serves a project that
// mixes a module published to Down and modules published to Up (one of
// which requires another) to the real go command, verifying every module
// through one GOSUMDB; and through Up's own database relayed by Down.

// goModule writes a module whose package says what and imports deps.
func goModule(t *testing.T, path, what string, deps ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(path))
	pkg := filepath.Base(path)
	gomod := "module " + path + "\n\ngo 1.22\n"
	src := "// Package " + pkg + " says something.\npackage " + pkg + "\n\n"
	body := `"` + what + `"`
	if len(deps) > 0 {
		gomod += "\nrequire (\n"
		src += "import (\n"
		for _, d := range deps {
			gomod += "\t" + d + " v1.0.0\n"
			src += "\t\"" + d + "\"\n"
			body += " + \" \" + " + filepath.Base(d) + ".Say()"
		}
		gomod += ")\n"
		src += ")\n\n"
	}
	src += "// Say says it.\nfunc Say() string { return " + body + " }\n"
	writeFiles(t, dir, map[string]string{"go.mod": gomod, pkg + ".go": src})
	return dir
}

// goApp writes a program that prints what the modules say.
func goApp(t *testing.T, mods ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	src := "package main\n\nimport (\n\t\"fmt\"\n"
	var says []string
	for _, m := range mods {
		src += "\n\t\"" + m + "\""
		says = append(says, filepath.Base(m)+".Say()")
	}
	src += "\n)\n\nfunc main() { fmt.Println(" + strings.Join(says, ", ") + ") }\n"
	writeFiles(t, dir, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n", "main.go": src})
	return dir
}

// publishGo publishes a module directory at v1.0.0 to tr.
func publishGo(t *testing.T, tr *Trove, token, dir, path string) {
	t.Helper()
	must(t, "", []string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL}, troveBin, "publish", "go", dir, "--module", path, "--version", "v1.0.0")
}

// getBody returns the status and body of a GET.
func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGoUpstream(t *testing.T) {
	p := startUpstreamPair(t, "go", "")
	const (
		local = "example.test/liba"     // published to Down
		upB   = "example.test/upb"      // published to Up, requires upC
		upC   = "example.test/upc"      // published to Up
		upT   = "example.test/upt"      // published to Up, tampered with on the way
		upU   = "example.test/upu"      // published to Up, never fetched before Up goes down
		under = "example.test/liba/sub" // published to Up below Down's local module
	)
	publishGo(t, p.Up, p.UpToken, goModule(t, upC, "upc"), upC)
	publishGo(t, p.Up, p.UpToken, goModule(t, upB, "upb", upC), upB)
	publishGo(t, p.Up, p.UpToken, goModule(t, upT, "upt"), upT)
	publishGo(t, p.Up, p.UpToken, goModule(t, upU, "upu"), upU)
	publishGo(t, p.Down, p.DownAdmin, goModule(t, local, "local liba"), local)
	// Up gets a higher version of Down's local module, and a module
	// below it.
	must(t, "", []string{"TROVE_TOKEN=" + p.UpToken, "TROVE_URL=" + p.Up.URL}, troveBin, "publish", "go", goModule(t, local, "upstream liba"), "--module", local, "--version", "v1.5.0")
	publishGo(t, p.Up, p.UpToken, goModule(t, under, "sub"), under)

	// One GOSUMDB, Down's own database, for local and upstream modules.
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + p.Down.URL}, troveBin, "log", "gosumdb", "--data", p.Down.Data))
	gocache := t.TempDir()
	app := goApp(t, local, upB)
	env := goEnv(t, p.Down, gosumdb, gocache)
	must(t, app, env, "go", "get", local+"@v1.0.0", upB+"@v1.0.0")
	if out := must(t, app, env, "go", "run", "."); strings.TrimSpace(out) != "local liba upb upc" {
		t.Errorf("go run = %q, want the local module's and the upstream modules' words", out)
	}
	sum, err := os.ReadFile(filepath.Join(app, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{local, upB, upC} {
		if !strings.Contains(string(sum), m+" v1.0.0 h1:") {
			t.Errorf("go.sum lacks %s:\n%s", m, sum)
		}
	}
	// A module under a public code host's path, which Down's default
	// configuration reserves for administrators, still comes from Up:
	// the reservation keeps squatters out, it does not make the path local.
	const hosted = "github.com/e2e-trove/hosted"
	p.Up.trove(t, Password+"\n", "admin", "user", "add", "root", "--email", "root@example.test", "--password-stdin", "--admin", "--verified")
	publishGo(t, p.Up, p.Up.Token(t, "root", "*", "read,publish"), goModule(t, hosted, "hosted"), hosted)
	must(t, goApp(t, hosted), env, "go", "get", hosted+"@v1.0.0")

	// The upstream's versions of a local module are never served.
	if out := must(t, app, env, "go", "list", "-m", "-versions", local); strings.TrimSpace(out) != local+" v1.0.0" {
		t.Errorf("go list -m -versions %s = %q, want only the local v1.0.0", local, out)
	}
	if code, body := getBody(t, p.Down.URL+"/go/"+local+"/@v/v1.5.0.info"); code != http.StatusNotFound {
		t.Errorf("the upstream's v1.5.0 of a local module: %d %s, want 404", code, body)
	}
	hits := p.Front.hits.Load()
	mustFail(t, app, env, "go", "get", under+"@v1.0.0")
	if n := p.Front.hits.Load(); n != hits {
		t.Errorf("Down asked Up %d times about modules at or below a local one, want never", n-hits)
	}

	// GOSUMDB naming Up's database, reached through Down's relay
	// (/go/sumdb/<up's name>/…): upstream modules verify against Up's
	// signature.
	upKey := strings.TrimSpace(p.Up.trove(t, "", "log", "gosumdb", "--key-only"))
	upName, _, _ := strings.Cut(upKey, "+")
	app2 := goApp(t, upB)
	env2 := goEnv(t, p.Down, upKey, gocache)
	must(t, app2, env2, "go", "get", upB+"@v1.0.0")
	must(t, app2, env2, "go", "build", "-o", os.DevNull, ".")
	if lookups, _ := filepath.Glob(filepath.Join(envValue(env2, "GOMODCACHE"), "cache", "download", "sumdb", upName, "lookup", "*")); len(lookups) == 0 {
		t.Errorf("the go command made no lookups in Up's database through Down")
	}

	// Publishing to Down a new module that Up has is refused.
	out := mustFail(t, "", []string{"TROVE_TOKEN=" + p.DownAdmin, "TROVE_URL=" + p.Down.URL}, troveBin, "publish", "go", goModule(t, upU, "mine"), "--module", upU, "--version", "v1.0.0")
	if !strings.Contains(out, "trove upstream allow") {
		t.Errorf("publishing to Down a module Up has:\n%s\nwant a refusal naming trove upstream allow", out)
	}

	// A zip altered between Up and Down is refused, and nothing is kept:
	// once Up's bytes come through, it builds.
	p.Front.Tamper("/" + upT + "/@v/v1.0.0.zip")
	app3 := goApp(t, upT)
	env3 := goEnv(t, p.Down, gosumdb, gocache)
	if out := mustFail(t, app3, env3, "go", "get", upT+"@v1.0.0"); !strings.Contains(out, "refused") {
		t.Errorf("go get of a tampered upstream module:\n%s\nwant Trove's refusal", out)
	}
	p.Front.Tamper("")
	must(t, app3, env3, "go", "get", upT+"@v1.0.0")

	// Up down: a clean module cache builds the app from what Down
	// imported; a module never fetched fails clearly.
	p.Front.SetDown(true)
	env4 := goEnv(t, p.Down, gosumdb, gocache) // a new module cache
	if out := must(t, app, env4, "go", "run", "."); !strings.HasSuffix(strings.TrimSpace(out), "\nlocal liba upb upc") {
		t.Errorf("go run with Up down = %q", out)
	}
	out = mustFail(t, app, env4, "go", "get", upU+"@v1.0.0")
	if !strings.Contains(out, "502") || !strings.Contains(out, "no upstream registry could be reached") {
		t.Errorf("go get of an uncached module with Up down:\n%s\nwant a 502 saying the upstream is unreachable", out)
	}
}

// TestGoUpstreamCuration: Down's curation changes what the go command
// resolves among an upstream module's versions, and an exact request for
// a blocked one fails naming the rule.
func TestGoUpstreamCuration(t *testing.T) {
	p := startUpstreamPair(t, "go", "")
	const mod = "example.test/cur"
	dir := goModule(t, mod, "cur")
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		must(t, "", []string{"TROVE_TOKEN=" + p.UpToken, "TROVE_URL=" + p.Up.URL}, troveBin, "publish", "go", dir, "--module", mod, "--version", v)
	}
	p.Down.trove(t, "", "curator", "add", "root")
	curator := []string{"TROVE_TOKEN=" + p.Down.Token(t, "root", "*", "read,curate"), "TROVE_URL=" + p.Down.URL}
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + p.Down.URL}, troveBin, "log", "gosumdb", "--data", p.Down.Data))
	gocache := t.TempDir()
	app := goApp(t, mod)

	must(t, "", curator, troveBin, "deny", "go", mod, "v1.2.0", "--why", "it breaks our builds")
	env := goEnv(t, p.Down, gosumdb, gocache)
	if out := must(t, app, env, "go", "list", "-m", "-versions", mod); strings.TrimSpace(out) != mod+" v1.0.0 v1.1.0" {
		t.Errorf("go list -m -versions with v1.2.0 denied = %q", out)
	}
	must(t, app, env, "go", "get", mod+"@latest")
	if b, _ := os.ReadFile(filepath.Join(app, "go.mod")); !strings.Contains(string(b), mod+" v1.1.0") {
		t.Errorf("go get @latest with v1.2.0 denied wrote:\n%s\nwant v1.1.0", b)
	}
	out := mustFail(t, app, env, "go", "get", mod+"@v1.2.0")
	wantOutput(t, "go get of a denied version", out, "403", "deny", "it breaks our builds")

	// A cool-down longer than the versions' age holds them all back.
	must(t, "", curator, troveBin, "policy", "set", "go", "--min-age", "3d", "--why", "cool-down")
	env = goEnv(t, p.Down, gosumdb, gocache)
	if out := must(t, app, env, "go", "list", "-m", "-versions", mod); strings.TrimSpace(out) != mod {
		t.Errorf("go list -m -versions under a 3-day cool-down = %q, want no version", out)
	}
}

// TestGoUpstreamMirrorOffline: trove mirror fetches through Down every
// module a go.sum written against the upstream pins; then, with the
// upstream gone and Down offline, the program builds from Down with
// Down's checksum database.
func TestGoUpstreamMirrorOffline(t *testing.T) {
	p := startUpstreamPair(t, "go", "")
	const upB, upC = "example.test/mirb", "example.test/mirc"
	publishGo(t, p.Up, p.UpToken, goModule(t, upC, "mirc"), upC)
	publishGo(t, p.Up, p.UpToken, goModule(t, upB, "mirb", upC), upB)
	upKey := strings.TrimSpace(p.Up.trove(t, "", "log", "gosumdb", "--key-only"))
	gocache := t.TempDir()
	app := goApp(t, upB)
	must(t, app, goEnv(t, p.Up, upKey, gocache), "go", "get", upB+"@v1.0.0")
	out := must(t, "", nil, troveBin, "mirror", "--lockfile", filepath.Join(app, "go.sum"), "--url", p.Down.URL)
	if !strings.Contains(out, "mirrored 2 of 2 packages") {
		t.Fatalf("trove mirror said:\n%s", out)
	}

	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + p.Down.URL}, troveBin, "log", "gosumdb", "--data", p.Down.Data))
	offline := p.offline(t)
	hits := p.Front.hits.Load()
	if out := must(t, app, goEnv(t, offline, gosumdb, gocache), "go", "run", "."); !strings.HasSuffix(strings.TrimSpace(out), "mirb mirc") {
		t.Errorf("go run offline = %q", out)
	}
	if n := p.Front.hits.Load() - hits; n != 0 {
		t.Errorf("the offline server asked the upstream %d times", n)
	}
}
