package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/trove-dev/trove/internal/goproxy"
)

func newPublish(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish a package to a server (Go modules)",
	}
	cmd.AddCommand(newPublishGo())
	return cmd
}

func newPublishGo() *cobra.Command {
	var mod, version, registryURL string
	cmd := &cobra.Command{
		Use:   "go DIR --version vX.Y.Z [--module PATH]",
		Short: "Publish a Go module version from a directory",
		Long: `Publish the Go module in DIR as a version: build its module zip the way the
go command does (golang.org/x/mod/zip; files of nested modules, vendor
directories and VCS metadata are left out), and upload it with DIR/go.mod to
<url>/go/-/upload. DIR/go.mod must declare the module path; --module, if
given, must match it. Versions are canonical semantic versions (v1.2.3,
v1.2.3-rc.1); a module path ending in /vN needs vN.x.y versions. A published
version can never be replaced.

The API token comes from $TROVE_TOKEN and needs the publish action on the
module (scope go:PATH or go:PREFIX/*). The server is --url, default
$TROVE_URL or http://127.0.0.1:8080.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token := os.Getenv("TROVE_TOKEN")
			if token == "" {
				return hinted{errors.New("no API token: set TROVE_TOKEN"), "create one with: trove token create --user NAME --scope go:MODULE --action publish"}
			}
			return publishGo(cmd, args[0], mod, version, strings.TrimRight(registryURL, "/"), token)
		},
	}
	cmd.Flags().StringVar(&mod, "module", "", "module path (default: the module directive of DIR/go.mod, which it must match)")
	cmd.Flags().StringVar(&version, "version", "", "version to publish, like v1.2.3 (required)")
	cmd.Flags().StringVar(&registryURL, "url", defaultServerURL(), "server URL (env TROVE_URL)")
	cmd.MarkFlagRequired("version")
	return cmd
}

func publishGo(cmd *cobra.Command, dir, mod, version, base, token string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if errors.Is(err, os.ErrNotExist) {
		return hinted{fmt.Errorf("%s has no go.mod", dir), "run trove publish go in a module's root directory, or create one with: go mod init MODULE"}
	}
	if err != nil {
		return err
	}
	declared := modfile.ModulePath(gomod)
	switch {
	case declared == "":
		return fmt.Errorf("%s: no module directive", filepath.Join(dir, "go.mod"))
	case mod == "":
		mod = declared
	case mod != declared:
		return fmt.Errorf("--module %s does not match the module path %s in %s", mod, declared, filepath.Join(dir, "go.mod"))
	}
	if err := goproxy.CheckVersion(mod, version); err != nil {
		return err
	}
	m := module.Version{Path: mod, Version: version}

	zf, err := os.CreateTemp("", "trove-publish-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(zf.Name())
	defer zf.Close()
	if err := modzip.CreateFromDir(zf, m, dir); err != nil {
		var fel modzip.FileErrorList
		if errors.As(err, &fel) {
			var b strings.Builder
			for _, fe := range fel {
				fmt.Fprintf(&b, "\n\t%s: %v", fe.Path, fe.Err)
			}
			return fmt.Errorf("building the module zip of %s: these files cannot be in a module:%s", m, b.String())
		}
		return fmt.Errorf("building the module zip of %s: %w", m, err)
	}
	if _, err := zf.Seek(0, io.SeekStart); err != nil {
		return err
	}

	// Stream the form: the zip may be large.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeGoForm(mw, m, gomod, zf))
	}()
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, base+"/go/-/upload", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return hinted{err, "is the server running at " + base + "? set --url or TROVE_URL"}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("publishing %s: %s: %s", m, resp.Status, strings.TrimSpace(string(b)))
	}
	var res goproxy.UploadResult
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("publishing %s: unexpected answer: %w", m, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: published %s@%s\n", res.Module, res.Version)
	for _, l := range res.GoSum {
		fmt.Fprintln(cmd.OutOrStdout(), l)
	}
	return nil
}

func writeGoForm(mw *multipart.Writer, m module.Version, gomod []byte, zf io.Reader) error {
	if err := mw.WriteField("module", m.Path); err != nil {
		return err
	}
	if err := mw.WriteField("version", m.Version); err != nil {
		return err
	}
	w, err := mw.CreateFormFile("mod", "go.mod")
	if err != nil {
		return err
	}
	if _, err := w.Write(gomod); err != nil {
		return err
	}
	if w, err = mw.CreateFormFile("zip", m.Version+".zip"); err != nil {
		return err
	}
	if _, err := io.Copy(w, zf); err != nil {
		return err
	}
	return mw.Close()
}
