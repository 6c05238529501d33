//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/trove-dev/trove/internal/blob/s3blob/s3test"
)

// The S3 tests run `trove serve` with its blobs in a bucket of a real S3
// server (versitygw, started by s3test) and the real clients against it:
// npm publish + install, twine upload + pip install, trove publish go +
// go mod download; once with downloads redirected to presigned URLs and
// once without.

// s3Trove starts versitygw and a Trove whose blobs are in a new bucket
// under the prefix "trove/", its key given in files.
func s3Trove(t *testing.T, redirect bool) (*Trove, *s3test.Server, string, []string) {
	t.Helper()
	srv, bucket, env := s3Env(t, redirect)
	tr := startTrove(t, env...)
	if strings.Contains(tr.Log(), srv.SecretKey) {
		t.Errorf("trove serve logged the S3 secret key")
	}
	return tr, srv, bucket, env
}

// s3Env starts versitygw and returns the environment of a Trove whose
// blobs are in a new bucket under the prefix "trove/", its key given in
// files.
func s3Env(t testing.TB, redirect bool) (*s3test.Server, string, []string) {
	t.Helper()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	keys := t.TempDir()
	writeFiles(t, keys, map[string]string{"access": srv.AccessKey + "\n", "secret": srv.SecretKey + "\n"})
	// Trove is 127.0.0.1 and S3 localhost: npm and the go command keep
	// credentials on a redirect to the same host name (the configuration
	// refuses that), and strip them on one to another.
	endpoint := strings.Replace(srv.Endpoint, "127.0.0.1", "localhost", 1)
	env := []string{"TROVE_STORAGE_BACKEND=s3", "TROVE_STORAGE_S3_ENDPOINT=" + endpoint, "TROVE_STORAGE_S3_BUCKET=" + bucket,
		"TROVE_STORAGE_S3_PREFIX=trove/", "TROVE_STORAGE_S3_PATH_STYLE=true",
		"TROVE_STORAGE_S3_ACCESS_KEY_FILE=" + filepath.Join(keys, "access"), "TROVE_STORAGE_S3_SECRET_KEY_FILE=" + filepath.Join(keys, "secret"),
		"TROVE_STORAGE_S3_REDIRECT=" + map[bool]string{true: "true", false: "false"}[redirect], "TROVE_STORAGE_S3_REDIRECT_TTL=1m",
		// Other tests' AWS_* variables must not stand in for the files.
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}
	if !redirect {
		// Every download reads the bucket, not the memory cache, so that
		// the damage below is what a download meets.
		env = append(env, "TROVE_CACHE_BLOB_BYTES=0")
	}
	return srv, bucket, env
}

func TestS3WithRedirects(t *testing.T)    { testS3(t, true) }
func TestS3WithoutRedirects(t *testing.T) { testS3(t, false) }

func testS3(t *testing.T, redirect bool) {
	tr, srv, bucket, env := s3Trove(t, redirect)
	npm := newNPM(t, tr, alice(t, tr))
	lib := writePackage(t, libFiles("1.0.0"))
	npm.must(lib, "publish")
	app := writePackage(t, appFiles("1.0.0"))
	npm.must(app, "publish")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.freshCache()
	npm.must(proj, "install", "app")
	sameFiles(t, lib, filepath.Join(proj, "node_modules/@acme/lib"))
	sameFiles(t, app, filepath.Join(proj, "node_modules/app"))

	pyToken := tr.Token(t, "alice", "pypi:trove-e2e-*", "read,publish")
	publishLibAndApp(t, tr, pyToken)
	target := t.TempDir()
	if out, err := pip(t, tr, "install", "--target", target, pyApp); err != nil || !strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Fatalf("pip install %s: %v\n%s", pyApp, err, out)
	}
	run := must(t, "", []string{"PYTHONPATH=" + target}, "python3", "-c", "import trove_e2e_app; print(trove_e2e_app.main())")
	if strings.TrimSpace(run) != "app using lib 1.0.0" {
		t.Errorf("running the installed app: %q", run)
	}

	s3GoModDownload(t, tr)

	// The blobs are in the bucket, under the prefix, and not on disk.
	if n := len(objects(t, srv, bucket, "trove/sha256/")); n < 7 {
		t.Errorf("the bucket holds %d blobs under trove/sha256/, want the 2 tarballs, 4 Python files and metadata, and the Go files", n)
	}
	if _, err := os.Stat(filepath.Join(tr.Data, "blobs")); !os.IsNotExist(err) {
		t.Errorf("the data directory has a blobs directory with the s3 backend: %v", err)
	}

	// What the clients were answered: redirects, or the bytes.
	status := "200"
	if redirect {
		status = "307"
	}
	time.Sleep(300 * time.Millisecond) // the server flushes its log every 100ms
	for _, route := range []string{"npm.tarball", "pypi.file", "pypi.metadata", "go.download"} {
		if !tr.Logged(`route=` + regexp.QuoteMeta(route) + ` status=` + status) {
			t.Errorf("no %s answered %s in the server log:\n%s", route, status, tr.Log())
		}
	}
	s3Download(t, tr, srv, redirect)
	s3Damage(t, tr, srv, bucket, env)
}

// s3GoModDownload publishes a module and downloads it with the go
// command, verified by Trove's checksum database.
func s3GoModDownload(t *testing.T, tr *Trove) {
	t.Helper()
	token := tr.Token(t, "alice", "go:example.test/*", "publish")
	liba, _, _ := goModules(t)
	must(t, "", []string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL}, troveBin, "publish", "go", liba, "--module", goLibA, "--version", "v1.0.0")
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + tr.URL}, troveBin, "log", "gosumdb", "--data", tr.Data))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.test/dl\n\ngo 1.22\n"})
	out := must(t, dir, goEnv(t, tr, gosumdb, t.TempDir()), "go", "mod", "download", "-json", goLibA+"@v1.0.0")
	if !strings.Contains(out, `"Sum": "h1:`) || strings.Contains(out, `"Error"`) {
		t.Errorf("go mod download %s@v1.0.0:\n%s", goLibA, out)
	}
}

// s3Download checks a tarball's answer by hand: a redirect to the
// endpoint with the file's name and type, or the bytes; HEAD served here.
func s3Download(t *testing.T, tr *Trove, srv *s3test.Server, redirect bool) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := tr.URL + "/npm/@acme/lib/-/lib-1.0.0.tgz"
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if redirect && (resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, "http://localhost:"+strings.TrimPrefix(srv.Host(), "127.0.0.1:")+"/") || strings.Contains(loc, srv.SecretKey)) {
		t.Errorf("GET %s = %d Location %q, want 307 to the endpoint on localhost", u, resp.StatusCode, loc)
	}
	if !redirect && (resp.StatusCode != 200 || loc != "") {
		t.Errorf("GET %s = %d Location %q, want 200", u, resp.StatusCode, loc)
	}
	if redirect {
		resp, err = http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" ||
			resp.Header.Get("Content-Disposition") != "attachment; filename=lib-1.0.0.tgz" {
			t.Errorf("GET of the presigned URL = %d, Content-Type %q, Content-Disposition %q", resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
	}
	resp, err = http.Head(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength <= 0 || resp.Request.URL.String() != u {
		t.Errorf("HEAD %s = %d, length %d, from %s; want 200 from Trove itself", u, resp.StatusCode, resp.ContentLength, resp.Request.URL)
	}
}

// s3Damage flips a byte of the tarball's object behind Trove's back:
// trove fsck finds it and moves it to damaged/, and the download then
// answers 503, never a redirect.
func s3Damage(t *testing.T, tr *Trove, srv *s3test.Server, bucket string, env []string) {
	t.Helper()
	resp, err := http.Get(tr.URL + "/npm/@acme/lib/-/lib-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	tgz, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(tgz)
	d := hex.EncodeToString(sum[:])
	// versitygw's posix backend keeps each object in a file named by its key.
	obj := filepath.Join(srv.Dir, bucket, "trove", "sha256", d[:2], d)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatalf("the tarball's object: %v", err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(obj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "", env, "", troveBin, "fsck", "--data", tr.Data)
	if err == nil || !strings.Contains(out, "damaged") || !strings.Contains(out, "lib-1.0.0.tgz") || !strings.Contains(out, "1 damaged or missing") {
		t.Errorf("trove fsck on S3 after the damage: %v\n%s", err, out)
	}
	if got := objects(t, srv, bucket, "trove/damaged/"); len(got) != 1 || got[0] != "trove/damaged/"+d {
		t.Errorf("damaged/ holds %q after fsck, want the tarball's digest", got)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(tr.URL + "/npm/@acme/lib/-/lib-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "damaged") {
		t.Errorf("download of a quarantined tarball: %d %s (Location %q); want 503 saying it is damaged", resp.StatusCode, body, resp.Header.Get("Location"))
	}
}

// objects lists the keys under prefix.
func objects(t *testing.T, srv *s3test.Server, bucket, prefix string) []string {
	t.Helper()
	var out []string
	for o := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}
