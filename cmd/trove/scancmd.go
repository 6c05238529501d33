package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/secret"
	"github.com/trove-dev/trove/internal/trove"
)

// newPipeline builds the configured scan pipeline: the one trove serve
// runs on every upload and import, and trove scan on files.
func newPipeline(c *config.Config, db *meta.DB, rev secret.Revoker) (*scan.Pipeline, error) {
	scanners, err := uploadScanners(c, db, rev)
	if err != nil {
		return nil, err
	}
	p := scan.NewPipeline(scanners...)
	p.SetTimes(c.Scan.InlineTimeout.Std(), c.Scan.SlowWait.Std())
	return p, nil
}

// noRevoker revokes nothing: trove scan reports tokens, it does not act.
type noRevoker struct{}

func (noRevoker) Revoke(context.Context, string, secret.Location) (bool, error) { return false, nil }

// scanOutcome is one file's result, as trove scan --json prints it.
type scanOutcome struct {
	File      string             `json:"file"`
	Ecosystem string             `json:"ecosystem"`
	Name      string             `json:"name"`
	Version   string             `json:"version"`
	Bytes     int64              `json:"bytes"`              // the file's size
	Unpacked  int64              `json:"unpacked,omitempty"` // its members' total size, for an archive
	Seconds   float64            `json:"seconds"`            // the scan's wall time
	Verdict   string             `json:"verdict"`
	Findings  []meta.ScanFinding `json:"findings,omitempty"`
	Error     string             `json:"error,omitempty"`
}

func newScanCmd(g *globals) *cobra.Command {
	var eco string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scan FILE... [--ecosystem npm|pypi|go] [--json]",
		Short: "Check package files with the configured upload scanners, as trove serve would",
		Long: `Run the scan pipeline that trove serve applies to every upload and upstream
import on package files: npm tarballs (.tgz), wheels, sdists (.tar.gz, .zip)
and, with --ecosystem go, Go module zips. Every scanner runs to the end, the
slow ones too; tokens found are reported, not revoked.

Each file's verdict (publish, hold, reject) and findings are printed, then a
summary with the throughput; --json prints one JSON object per file instead.
The exit status is 0 unless a file could not be read or scanned: verdicts are
results, not errors (scripts/scan-corpus.sh counts them).

It reads the configuration and the data directory (the known-bad database)
like the admin commands.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				p, err := newPipeline(c, db, noRevoker{})
				if err != nil {
					return err
				}
				return scanFiles(cmd.Context(), p, cmd.OutOrStdout(), args, trove.Ecosystem(eco), asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&eco, "ecosystem", "", "the files' ecosystem (default: from each file's name: .tgz npm, .whl/.tar.gz/.zip pypi)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per file")
	return cmd
}

// scanFiles scans each file and prints its outcome.
func scanFiles(ctx context.Context, p *scan.Pipeline, out io.Writer, files []string, eco trove.Ecosystem, asJSON bool) error {
	enc := json.NewEncoder(out)
	var total, unpacked int64
	var seconds float64
	counts := map[string]int{}
	failed := 0
	for _, name := range files {
		o := scanFile(ctx, p, name, eco)
		if o.Error != "" {
			failed++
		} else {
			counts[o.Verdict]++
			total, unpacked, seconds = total+o.Bytes, unpacked+o.Unpacked, seconds+o.Seconds
		}
		if asJSON {
			if err := enc.Encode(o); err != nil {
				return err
			}
			continue
		}
		if o.Error != "" {
			fmt.Fprintf(out, "%s: error: %s\n", o.File, o.Error)
			continue
		}
		fmt.Fprintf(out, "%s: %s %s %s: %s\n", o.File, o.Ecosystem, o.Name, o.Version, o.Verdict)
		for _, f := range o.Findings {
			where := f.File
			if f.Line > 0 {
				where = fmt.Sprintf("%s:%d", f.File, f.Line)
			}
			fmt.Fprintf(out, "  %s %s/%s %s: %s\n", f.Verdict, f.Scanner, f.Rule, where, f.Message)
		}
	}
	if !asJSON {
		fmt.Fprintf(out, "%d files: %d publish, %d hold, %d reject, %d errors", len(files), counts["publish"], counts["hold"], counts["reject"], failed)
		if seconds > 0 {
			fmt.Fprintf(out, "; %.1f MB in %.2f s (%.1f MB/s of files, %.1f MB/s unpacked)", float64(total)/1e6, seconds,
				float64(total)/1e6/seconds, float64(unpacked)/1e6/seconds)
		}
		fmt.Fprintln(out)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be scanned", failed, len(files))
	}
	return nil
}

// scanFile scans one file.
func scanFile(ctx context.Context, p *scan.Pipeline, name string, eco trove.Ecosystem) scanOutcome {
	o := scanOutcome{File: name}
	fail := func(err error) scanOutcome {
		o.Error = err.Error()
		return o
	}
	f, err := os.Open(name)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	o.Bytes = st.Size()
	base := filepath.Base(name)
	if eco == "" {
		switch {
		case strings.HasSuffix(base, ".tgz"):
			eco = trove.NPM
		case strings.HasSuffix(base, ".whl"), strings.HasSuffix(base, ".tar.gz"), strings.HasSuffix(base, ".zip"):
			eco = trove.PyPI
		default:
			return fail(errors.New("cannot tell the ecosystem from the file name: pass --ecosystem"))
		}
	}
	a := &scan.Artifact{Ecosystem: string(eco), Files: []scan.File{{Name: base, Size: o.Bytes, Content: f}}}
	if o.Unpacked, a.Metadata, err = inspect(f, o.Bytes, base); err != nil {
		return fail(fmt.Errorf("reading %s: %w", base, err))
	}
	if a.Name, a.Version, err = artifactName(eco, f, o.Bytes, base, a.Metadata); err != nil {
		return fail(fmt.Errorf("naming %s: %w", base, err))
	}
	o.Ecosystem, o.Name, o.Version = string(eco), a.Name, a.Version
	start := time.Now()
	r, err := p.Scan(ctx, a)
	o.Seconds = time.Since(start).Seconds()
	if err != nil {
		return fail(err)
	}
	o.Verdict = r.Verdict.String()
	for _, f := range r.Findings {
		o.Findings = append(o.Findings, meta.ScanFinding{Scanner: f.Scanner, Rule: f.Rule, File: f.File, Line: f.Line,
			Message: f.Message, Verdict: f.Verdict.String(), Malicious: f.Malicious})
	}
	return o
}

// inspect returns an archive's unpacked size and, for an npm tarball, its
// package.json (the release metadata scanners read).
func inspect(f *os.File, size int64, base string) (unpacked int64, pkgJSON []byte, err error) {
	lim := archive.DefaultLimits()
	switch {
	case strings.HasSuffix(base, ".tgz"), strings.HasSuffix(base, ".tar.gz"):
		err = archive.WalkTarGz(io.NewSectionReader(f, 0, size), lim, func(e archive.Entry, r io.Reader) error {
			unpacked += e.Size
			if strings.Count(e.Name, "/") == 1 && strings.HasSuffix(e.Name, "/package.json") && pkgJSON == nil {
				var b bytes.Buffer
				if _, err := io.Copy(&b, io.LimitReader(r, 1<<20)); err != nil {
					return err
				}
				pkgJSON = b.Bytes()
			}
			return nil
		})
	case strings.HasSuffix(base, ".whl"), strings.HasSuffix(base, ".zip"):
		var z *archive.Zip
		if z, err = archive.OpenZip(f, size, lim); err == nil {
			for _, e := range z.Entries() {
				unpacked += e.Size
			}
		}
	}
	return unpacked, pkgJSON, err
}

// artifactName returns the name and version of a file as the registry
// would find them: an npm tarball's from its package.json, a PyPI
// distribution's from its core metadata (checked against its file name),
// others' from the file name.
func artifactName(eco trove.Ecosystem, f io.ReaderAt, size int64, base string, pkgJSON []byte) (string, string, error) {
	var m struct{ Name, Version string }
	switch {
	case eco == trove.NPM && json.Unmarshal(pkgJSON, &m) == nil && m.Name != "":
		return m.Name, m.Version, nil
	case eco == trove.PyPI:
		return pypi.Identify(f, size, base)
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(base, ".tgz"), ".zip")
	if i := strings.LastIndex(stem, "-"); i > 0 {
		return stem[:i], stem[i+1:], nil
	}
	return stem, "", nil
}
