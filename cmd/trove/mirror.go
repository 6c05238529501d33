package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/mod/module"

	"github.com/trove-dev/trove/internal/lockfile"
)

// maxMirrorDoc bounds a metadata document trove mirror reads.
const maxMirrorDoc = 64 << 20

func newMirror() *cobra.Command {
	var registryURL, format string
	var jobs int
	cmd := &cobra.Command{
		Use:   "mirror --lockfile FILE [--url URL] [--jobs N]",
		Short: "Fetch everything a project's lockfile pins through a server, so that it is cached for offline use",
		Long: `Fetch through a running Trove (--url, default $TROVE_URL) every package a
lockfile pins — package-lock.json, requirements.txt (hash-checking mode),
go.sum — as the clients would: the server fetches what it does not hold from
its upstreams, verifies it and keeps it. Each file is checked against the
lockfile's digest on the way. Then serve it with upstream.offline = true (or
TROVE_UPSTREAM_OFFLINE=true) where the upstreams cannot be reached, and the
project installs from what is cached (docs/proxy.md).

The lockfile may be written against any registry: packages are asked for by
name and version. $TROVE_TOKEN is sent if set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			lf, _ := cmd.Flags().GetString("lockfile")
			rep, err := readLockfile(lf, format)
			if err != nil {
				return err
			}
			m := &mirror{base: strings.TrimRight(registryURL, "/"), token: os.Getenv("TROVE_TOKEN"), client: http.DefaultClient}
			return m.run(cmd, rep, jobs)
		},
	}
	cmd.Flags().String("lockfile", "", "the lockfile: package-lock.json, requirements.txt or go.sum (required)")
	cmd.MarkFlagRequired("lockfile")
	cmd.Flags().StringVar(&format, "format", "", "lockfile format when its name does not tell: package-lock, requirements, go.sum")
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.Flags().IntVar(&jobs, "jobs", 4, "packages fetched at once")
	return cmd
}

// readLockfile reads a lockfile in its format, from any registry.
func readLockfile(path, format string) (*lockfile.Report, error) {
	formats := lockfileFormats()
	var f lockfile.Format
	var err error
	if format != "" {
		f, err = lockfile.ByName(formats, format)
	} else {
		f, err = lockfile.Detect(formats, filepath.Base(path))
	}
	if err != nil {
		return nil, hinted{err, "give the format with --format"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > lockfile.MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, lockfile.MaxSize)
	}
	rep, err := f.Read(data, "")
	if he, ok := errors.AsType[*lockfile.HintedError](err); ok {
		return nil, hinted{fmt.Errorf("%s: %w", path, he.Err), he.Hint}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// A mirror fetches pins through a server.
type mirror struct {
	base, token string
	client      *http.Client

	mu    sync.Mutex
	files int
	bytes int64
}

// run mirrors every pin with jobs workers, a progress bar on standard
// error, and a summary; any failure fails the command after the rest.
func (m *mirror) run(cmd *cobra.Command, rep *lockfile.Report, jobs int) error {
	for _, n := range rep.Notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "trove: skipped %s\n", n)
	}
	bar := progressbar.NewOptions(len(rep.Pins), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription("mirroring"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	var failed []string
	var fmu sync.Mutex
	work := make(chan lockfile.Pin)
	var wg sync.WaitGroup
	for range max(jobs, 1) {
		wg.Go(func() {
			for p := range work {
				if err := m.pin(cmd.Context(), p); err != nil {
					fmu.Lock()
					failed = append(failed, fmt.Sprintf("%s: %v", p, err))
					fmu.Unlock()
				}
				bar.Add(1)
			}
		})
	}
	for _, p := range rep.Pins {
		work <- p
	}
	close(work)
	wg.Wait()
	bar.Finish()
	slices.Sort(failed)
	for _, f := range failed {
		fmt.Fprintf(cmd.ErrOrStderr(), "trove: failed: %s\n", f)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "trove: mirrored %d of %d packages (%d files, %d bytes) through %s\n",
		len(rep.Pins)-len(failed), len(rep.Pins), m.files, m.bytes, m.base)
	if len(failed) > 0 {
		return fmt.Errorf("%d packages could not be mirrored", len(failed))
	}
	return nil
}

// pin fetches one pinned version the way its clients would.
func (m *mirror) pin(ctx context.Context, p lockfile.Pin) error {
	switch p.Ecosystem {
	case "npm":
		return m.npm(ctx, p)
	case "pypi":
		return m.pypi(ctx, p)
	case "go":
		return m.goModule(ctx, p)
	}
	return fmt.Errorf("trove mirror cannot fetch %s packages", p.Ecosystem)
}

func (m *mirror) npm(ctx context.Context, p lockfile.Pin) error {
	var doc struct {
		Versions map[string]struct {
			Dist struct{ Tarball, Integrity string }
		}
	}
	name := strings.Replace(url.PathEscape(p.Name), "%40", "@", 1)
	if err := m.getJSON(ctx, m.base+"/npm/"+name, "application/vnd.npm.install-v1+json", &doc); err != nil {
		return err
	}
	v, ok := doc.Versions[p.Version]
	if !ok {
		return errors.New("the server's packument has no such version (not served, or refused by a curation policy)")
	}
	want := ""
	if p.SHA512 != "" {
		want = "sha512-" + p.SHA512
	}
	return m.fetch(ctx, v.Dist.Tarball, m.base+"/npm/", sha512.New(), want, sriSHA512)
}

func (m *mirror) pypi(ctx context.Context, p lockfile.Pin) error {
	var page struct {
		Files []struct {
			Filename, URL string
			Hashes        map[string]string
		}
	}
	pageURL := m.base + "/pypi/simple/" + url.PathEscape(p.Name) + "/"
	if err := m.getJSON(ctx, pageURL, "application/vnd.pypi.simple.v1+json", &page); err != nil {
		return err
	}
	got := 0
	for _, f := range page.Files {
		if !slices.ContainsFunc(p.Files, func(d lockfile.Digest) bool { return d.SHA256 == f.Hashes["sha256"] }) {
			continue
		}
		if err := m.fetch(ctx, f.URL, pageURL, sha256.New(), f.Hashes["sha256"], hex.EncodeToString); err != nil {
			return fmt.Errorf("%s: %w", f.Filename, err)
		}
		got++
	}
	if got == 0 {
		return errors.New("the server's index lists no file with a hash the lockfile pins")
	}
	return nil
}

func (m *mirror) goModule(ctx context.Context, p lockfile.Pin) error {
	path, err := module.EscapePath(p.Name)
	if err != nil {
		return err
	}
	v, err := module.EscapeVersion(strings.TrimSuffix(p.Version, "/go.mod"))
	if err != nil {
		return err
	}
	exts := []string{".info", ".mod"}
	for _, l := range p.Lines {
		if f := strings.Fields(l.Text); len(f) == 3 && !strings.HasSuffix(f[1], "/go.mod") {
			exts = append(exts, ".zip") // the lockfile pins the module's files, not only its go.mod
			break
		}
	}
	for _, ext := range exts {
		if err := m.fetch(ctx, m.base+"/go/"+path+"/@v/"+v+ext, "", nil, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// sriSHA512 formats a SHA-512 as npm's integrity does.
func sriSHA512(sum []byte) string { return "sha512-" + base64.StdEncoding.EncodeToString(sum) }

// fetch downloads a file (relative to base) and, with h, checks that
// enc(h(body)) is want.
func (m *mirror) fetch(ctx context.Context, raw, base string, h hash.Hash, want string, enc func([]byte) string) error {
	u, err := resolve(base, raw)
	if err != nil {
		return err
	}
	resp, err := m.get(ctx, u, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	w := io.Discard
	if h != nil {
		w = h
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	if h != nil && want != "" {
		if got := enc(h.Sum(nil)); got != want {
			return fmt.Errorf("%s has digest %s, the lockfile pins %s", u, got, want)
		}
	}
	m.mu.Lock()
	m.files++
	m.bytes += n
	m.mu.Unlock()
	return nil
}

func resolve(base, raw string) (string, error) {
	if base == "" {
		return raw, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u, err := b.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// getJSON reads a JSON document.
func (m *mirror) getJSON(ctx context.Context, u, accept string, v any) error {
	resp, err := m.get(ctx, u, accept)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxMirrorDoc)).Decode(v); err != nil {
		return fmt.Errorf("reading %s: %w", u, err)
	}
	return nil
}

// get sends a GET and returns a 200 answer; others become errors with
// the server's message.
func (m *mirror) get(ctx context.Context, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}
