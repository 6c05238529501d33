package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/lockfile"
	"github.com/trove-dev/trove/internal/logclient"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
)

// maxArtifactSize bounds a tarball downloaded to check a lockfile.
const maxArtifactSize = 1 << 30

type verifyFlags struct {
	url, key, keyFile, state string
	lockfile, format, file   string
	allowDeleted, audit      bool
	timeout                  time.Duration
}

func newVerify(g *globals) *cobra.Command {
	f := &verifyFlags{}
	cmd := &cobra.Command{
		Use:   "verify [npm:NAME@VERSION | pypi:NAME==VERSION | go:MODULE@VERSION]... [--file PATH] [--lockfile FILE] [--audit]",
		Short: "Prove packages are in a registry's transparency log, and that the log was not forked",
		Long: `Prove that package versions are in a Trove registry's transparency log, that
the files you have are the files published, and that the log only ever grew.

Every run fetches the log's signed checkpoint, checks its signature with the
log's verifier key, and proves it consistent with the checkpoint the last run
verified (kept in --state). A fork or rollback is a SECURITY ERROR that prints
both signed checkpoints as evidence and leaves the stored one unchanged.

  trove verify npm:@acme/lib@1.0.0 pypi:demo==1.0 go:example.com/m@v1.2.3
      prove the versions' records are in the log; print the files and digests
  trove verify npm:left-pad@1.3.0 --file left-pad-1.3.0.tgz
      also check that a local file is a published file of the version
  trove verify --lockfile package-lock.json   (or npm-shrinkwrap.json)
      download every tarball resolved from this registry, check its sha512
      against the lockfile's integrity and its sha256 against the log
  trove verify --lockfile requirements.txt
      every name==version line's --hash=sha256 values must be files the log
      records for that release
  trove verify --lockfile go.sum
      every line must be in its module version's publish record
  trove verify --audit
      download the whole log, recompute its root hash, parse every record

The verifier key (--key, --key-file or $TROVE_LOG_KEY) must come from the
registry's operator (trove log key), not from the server being checked: a
key fetched from the server proves nothing.

A release yanked later is a warning; a deleted or taken-down one fails
unless --allow-deleted. The exit status is non-zero on any failure.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && f.lockfile == "" && !f.audit {
				return hinted{errors.New("nothing to verify"), "give NAME@VERSION specs (npm:left-pad@1.3.0, pypi:demo==1.0, go:example.com/m@v1.0.0), --lockfile FILE or --audit"}
			}
			if f.file != "" && len(args) != 1 {
				return errors.New("--file needs exactly one package version to check it against")
			}
			return runVerify(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", defaultServerURL(), "registry base URL (env TROVE_URL)")
	fl.StringVar(&f.key, "key", "", "the log's verifier key, <origin>+<hash>+<key> (env TROVE_LOG_KEY)")
	fl.StringVar(&f.keyFile, "key-file", "", "file holding the log's verifier key")
	fl.StringVar(&f.state, "state", "", "directory of the last verified checkpoint (default <user config dir>/trove/verify/<origin>)")
	fl.StringVar(&f.lockfile, "lockfile", "", "verify every package of a package-lock.json, requirements.txt or go.sum")
	fl.StringVar(&f.format, "format", "", "lockfile format when its name does not tell: package-lock, requirements, go.sum")
	fl.StringVar(&f.file, "file", "", "a local file that must be a published file of the one version given")
	fl.BoolVar(&f.allowDeleted, "allow-deleted", false, "warn about, instead of failing, versions deleted or taken down after publishing")
	fl.BoolVar(&f.audit, "audit", false, "download every record, recompute the log's root hash, and count records by kind")
	f.timeout = 2 * time.Minute
	fl.Var((*config.Duration)(&f.timeout), "timeout", "give up on a server that has not answered one request within this time (30s, 2m, 1h)")
	return cmd
}

// readKey returns the verifier key given as --key, in --key-file or in
// $TROVE_LOG_KEY, or "" if none is.
func readKey(key, keyFile string) (string, error) {
	if key == "" && keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return "", fmt.Errorf("reading --key-file: %w", err)
		}
		key = string(b)
	}
	if key == "" {
		key = os.Getenv("TROVE_LOG_KEY")
	}
	return strings.TrimSpace(key), nil
}

// verifyKey returns the verifier key from the flags or the environment.
func verifyKey(f *verifyFlags) (string, error) {
	key, err := readKey(f.key, f.keyFile)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", hinted{errors.New("no log verifier key: give --key, --key-file or TROVE_LOG_KEY (trusting the key the server sends is not verification)"),
			"get the key from the registry's operator, who prints it with: trove log key"}
	}
	return key, nil
}

// stateDir returns where the last verified checkpoint of the log is kept.
func stateDir(f *verifyFlags, origin string) (string, error) {
	if f.state != "" {
		return f.state, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", hinted{fmt.Errorf("finding the state directory: %w", err), "give one with --state DIR"}
	}
	safe := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, origin)
	return filepath.Join(dir, "trove", "verify", safe), nil
}

func runVerify(ctx context.Context, f *verifyFlags, args []string, stdout, stderr io.Writer) error {
	var queries []logclient.Query
	for _, a := range args {
		q, err := query(a)
		if err != nil {
			return err
		}
		queries = append(queries, q)
	}
	key, err := verifyKey(f)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: f.timeout}
	ops := &logclient.HTTPOps{Base: strings.TrimRight(f.url, "/") + "/log/", Client: client, Stderr: stderr, Ctx: ctx}
	c, err := logclient.New(ops, key)
	if err != nil {
		return hinted{err, "the key looks like <origin>+<8 hex digits>+<base64>, as trove log key prints it"}
	}
	if ops.Dir, err = stateDir(f, c.Origin()); err != nil {
		return err
	}
	v := &verifier{c: c, f: f, base: strings.TrimRight(f.url, "/"), out: stdout, errw: stderr, ctx: ctx, client: client}
	cp, err := c.Latest()
	if err != nil {
		return v.fatal(err)
	}
	v.seen(cp)
	fmt.Fprintf(stderr, "trove: log %s: checkpoint %d verified (state in %s)\n", c.Origin(), cp.Tree.N, ops.Dir)
	if f.audit {
		a, err := c.Audit(nil)
		if err != nil {
			return v.fatal(err)
		}
		v.seen(a.Checkpoint)
		fmt.Fprintf(stdout, "audited %d records: the root hash recomputed from every record matches the signed checkpoint\n", a.Checkpoint.Tree.N)
		for _, m := range []map[string]int{a.Kinds, a.Ecosystems} {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(stdout, "  %-10s %d\n", k, m[k])
			}
		}
	}
	for _, q := range queries {
		if err := v.spec(q); err != nil {
			return err
		}
	}
	if f.lockfile != "" {
		if err := v.lockfile(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "verified %d artifacts against checkpoint %d %v\n", v.verified, v.cp.Tree.N, v.cp.Tree.Hash)
	if v.failed > 0 {
		err := fmt.Errorf("%d of %d artifacts failed verification", v.failed, v.failed+v.verified)
		if v.hint != "" {
			return hinted{err, v.hint}
		}
		return err
	}
	return nil
}

// A verifier checks artifacts and counts the outcomes.
type verifier struct {
	c        *logclient.Client
	f        *verifyFlags
	base     string // the registry's base URL, without a trailing "/"
	out      io.Writer
	errw     io.Writer
	ctx      context.Context
	client   *http.Client
	cp       *logclient.Checkpoint // the largest checkpoint proofs used
	verified int
	failed   int
	hint     string // how to fix the failures, for the final error
}

func (v *verifier) seen(cp *logclient.Checkpoint) {
	if v.cp == nil || cp.Tree.N > v.cp.Tree.N {
		v.cp = cp
	}
}

// fatal turns an error that stops verification into the command's error.
func (v *verifier) fatal(err error) error {
	if errors.Is(err, logclient.ErrSecurity) {
		return hinted{err, "the stored checkpoint was kept; keep both signed checkpoints above as evidence, report them to the registry's operator, and do not trust this registry until it is explained"}
	}
	if errors.Is(err, logclient.ErrBadSignature) {
		return hinted{err, "is the key the one of the registry at " + v.f.url + "? its operator prints it with: trove log key"}
	}
	return err
}

func (v *verifier) fail(format string, args ...any) {
	v.failed++
	fmt.Fprintf(v.errw, "trove: FAIL "+format+"\n", args...)
}

func (v *verifier) note(format string, args ...any) {
	fmt.Fprintf(v.errw, "trove: note: "+format+"\n", args...)
}

// release looks up and proves the records of a version and checks its
// state. It returns nil after counting a failure; a non-nil error stops
// the run (a security error).
func (v *verifier) release(q logclient.Query) (*logclient.Release, error) {
	rel, err := v.c.Lookup(q)
	if errors.Is(err, logclient.ErrSecurity) {
		return nil, v.fatal(err)
	}
	if err != nil {
		v.fail("%v", err)
		return nil, nil
	}
	v.seen(rel.Checkpoint)
	if len(rel.Published()) == 0 {
		v.fail("%s: the log has records of it, but none publishes it", q)
		return nil, nil
	}
	s := rel.State()
	switch {
	case s.Deleted && !v.f.allowDeleted:
		v.fail("%s: %s after publishing (reason %q); --allow-deleted accepts it", q, s.DeleteKind, s.Reason)
		return nil, nil
	case s.Deleted:
		fmt.Fprintf(v.errw, "trove: warning: %s: %s after publishing (reason %q)\n", q, s.DeleteKind, s.Reason)
	}
	if s.Yanked {
		fmt.Fprintf(v.errw, "trove: warning: %s: yanked (reason %q)\n", q, s.YankReason)
	}
	if s.Deprecated != "" {
		v.note("%s: deprecated: %s", q, s.Deprecated)
	}
	return rel, nil
}

// query parses a spec: npm:NAME@VERSION, pypi:NAME==VERSION, go:MODULE@VERSION.
func query(spec string) (logclient.Query, error) {
	eco, rest, _ := strings.Cut(spec, ":")
	bad := func(want string) (logclient.Query, error) {
		return logclient.Query{}, hinted{fmt.Errorf("%q is not %s", spec, want),
			"write npm:NAME@VERSION, pypi:NAME==VERSION or go:MODULE@VERSION"}
	}
	var rules registry.Rules
	var name, version string
	switch eco {
	case "npm":
		i := strings.LastIndex(rest, "@")
		if i <= 0 {
			return bad("npm:NAME@VERSION")
		}
		name, version, rules = rest[:i], rest[i+1:], npm.Rules{}
	case "pypi":
		var ok bool
		if name, version, ok = strings.Cut(rest, "=="); !ok {
			return bad("pypi:NAME==VERSION")
		}
		rules = pypi.Rules{}
	case "go":
		i := strings.LastIndex(rest, "@")
		if i <= 0 {
			return bad("go:MODULE@VERSION")
		}
		name, version, rules = rest[:i], rest[i+1:], goproxy.Rules{}
	default:
		return bad("ECOSYSTEM:NAME@VERSION with ecosystem npm, pypi or go")
	}
	n, err := rules.ParseName(name)
	if err != nil {
		return logclient.Query{}, err
	}
	if _, err := rules.VersionKey(version); err != nil {
		return logclient.Query{}, err
	}
	return logclient.Query{Ecosystem: eco, Name: string(n), Version: version, VersionKey: rules.VersionKey}, nil
}

// spec verifies one NAME@VERSION argument.
func (v *verifier) spec(q logclient.Query) error {
	rel, err := v.release(q)
	if rel == nil {
		return err
	}
	fmt.Fprintf(v.out, "%s: %d records proved in checkpoint %d\n", q, len(rel.Records), rel.Checkpoint.Tree.N)
	for _, r := range rel.Records {
		fmt.Fprintf(v.out, "  record %d: %s %s\n", r.ID, r.Event.Kind, r.Event.Time.Format("2006-01-02T15:04:05Z07:00"))
	}
	for _, fd := range rel.Files() {
		fmt.Fprintf(v.out, "  file %s sha256:%s\n", fd.Name, fd.SHA256)
	}
	for _, l := range rel.Lines() {
		fmt.Fprintf(v.out, "  %s\n", l)
	}
	if v.f.file == "" {
		v.verified++
		return nil
	}
	sum, err := fileSHA256(v.f.file)
	if err != nil {
		return err
	}
	fd, ok := rel.FindFile(filepath.Base(v.f.file), sum)
	if !ok {
		fd, ok = rel.FindFile("", sum)
	}
	if !ok {
		v.fail("%s: %s (sha256:%s) is not a published file of this version", q, v.f.file, sum)
		return nil
	}
	fmt.Fprintf(v.out, "%s: sha256:%s is the published file %s\n", v.f.file, sum, fd.Name)
	v.verified++
	return nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (v *verifier) lockfile() error {
	format := lockfile.Format(v.f.format)
	if format == "" {
		var err error
		if format, err = lockfile.Detect(filepath.Base(v.f.lockfile)); err != nil {
			return hinted{err, "give the format with --format package-lock, requirements or go.sum"}
		}
	}
	data, err := os.ReadFile(v.f.lockfile)
	if err != nil {
		return err
	}
	if len(data) > lockfile.MaxSize {
		return fmt.Errorf("%s: larger than %d bytes", v.f.lockfile, lockfile.MaxSize)
	}
	switch format {
	case lockfile.PackageLock:
		return v.packageLock(data)
	case lockfile.Requirements:
		return v.requirements(data)
	case lockfile.GoSum:
		return v.goSum(data)
	}
	return fmt.Errorf("unknown lockfile format %q: want package-lock, requirements or go.sum", format)
}

func (v *verifier) packageLock(data []byte) error {
	pkgs, err := lockfile.ParsePackageLock(data)
	if err != nil {
		return err
	}
	checked := 0            // packages resolved from this registry, verified or failed
	var unresolved []string // packages from a registry without a "resolved" URL
	for _, p := range pkgs {
		switch {
		case p.Link:
			v.note("%s: a link to a local directory, not verified", p.Path)
			continue
		case p.Resolved == "" && p.FromRegistry():
			unresolved = append(unresolved, p.Name+"@"+p.Version)
			continue
		case p.Resolved == "":
			v.note("%s: not downloaded from a registry (workspace or bundled), not verified", p.Path)
			continue
		case !strings.HasPrefix(p.Resolved, v.base+"/"):
			v.note("%s: resolved from %s, not from %s, not verified", p.Path, p.Resolved, v.base)
			continue
		}
		q := logclient.Query{Ecosystem: "npm", Name: p.Name, Version: p.Version}
		checked++
		want := ""
		for _, i := range strings.Fields(p.Integrity) {
			if s, ok := strings.CutPrefix(i, "sha512-"); ok {
				want = s
			}
		}
		if want == "" {
			v.fail("%s: the lockfile has no sha512 integrity for it", q)
			continue
		}
		sha512sum, sha256sum, err := v.download(p.Resolved)
		if err != nil {
			v.fail("%s: %v", q, err)
			continue
		}
		if sha512sum != want {
			v.fail("%s: %s has sha512-%s, but the lockfile's integrity is sha512-%s", q, p.Resolved, sha512sum, want)
			continue
		}
		rel, err := v.release(q)
		if rel == nil {
			if err != nil {
				return err
			}
			continue
		}
		u, _ := url.Parse(p.Resolved)
		fd, ok := rel.FindFile(path.Base(u.Path), sha256sum)
		if !ok {
			v.fail("%s: the tarball's sha256:%s is not the file the log records for it", q, sha256sum)
			continue
		}
		fmt.Fprintf(v.out, "ok %s %s sha256:%s\n", q, fd.Name, fd.SHA256)
		v.verified++
	}
	if len(unresolved) > 0 {
		v.failed += len(unresolved)
		fmt.Fprintf(v.errw, "trove: FAIL %s: %d packages have no \"resolved\" URL, so there is no tarball to download and verify: %s\n",
			v.f.lockfile, len(unresolved), abbreviate(unresolved, 5))
		v.hint = "npm leaves \"resolved\" out when omit-lockfile-registry-resolved is set: remove that setting " +
			"(npm config delete omit-lockfile-registry-resolved, and from the project's .npmrc), then write the lockfile again with " +
			"rm package-lock.json && npm install --package-lock-only (review the diff: versions may move within your ranges)"
		return nil
	}
	if checked == 0 && len(pkgs) > 0 {
		return hinted{fmt.Errorf("%s: no package was resolved from %s, so none was verified", v.f.lockfile, v.base),
			"give the registry the lockfile's \"resolved\" URLs point at with --url"}
	}
	return nil
}

// abbreviate lists the first n items and how many more there are.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// unjoin returns the errors an errors.Join made, or err alone.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// download fetches a tarball and returns its sha512 (base64) and sha256 (hex).
func (v *verifier) download(u string) (sha512b64, sha256hex string, err error) {
	req, err := http.NewRequestWithContext(v.ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	h512, h256 := sha512.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(h512, h256), io.LimitReader(resp.Body, maxArtifactSize+1))
	if err != nil {
		return "", "", fmt.Errorf("downloading %s: %w", u, err)
	}
	if n > maxArtifactSize {
		return "", "", fmt.Errorf("downloading %s: larger than %d bytes", u, maxArtifactSize)
	}
	return base64.StdEncoding.EncodeToString(h512.Sum(nil)), hex.EncodeToString(h256.Sum(nil)), nil
}

func (v *verifier) requirements(data []byte) error {
	reqs, err := lockfile.ParseRequirements(data)
	var noHash []string
	for _, e := range unjoin(err) {
		if errors.Is(e, lockfile.ErrNoHash) {
			noHash = append(noHash, e.Error())
			continue
		}
		v.fail("%s: %v", v.f.lockfile, e)
	}
	if len(noHash) > 0 {
		v.failed += len(noHash)
		if len(reqs) == 0 {
			fmt.Fprintf(v.errw, "trove: FAIL %s: no requirement has a --hash=sha256:… option: it is not a hash-checked requirements file, so there is no file to verify:\n", v.f.lockfile)
		} else {
			fmt.Fprintf(v.errw, "trove: FAIL %s: %d requirements have no --hash=sha256:… option, so there is no file to verify for them:\n", v.f.lockfile, len(noHash))
		}
		for _, l := range noHash {
			fmt.Fprintf(v.errw, "trove:   %s\n", l)
		}
		v.hint = "write requirements with hashes using pip-compile --generate-hashes (from pip-tools: pip install pip-tools), " +
			"or uv pip compile --generate-hashes; pip install --require-hashes then checks them at every install too"
	}
	for _, r := range reqs {
		q, err := query("pypi:" + r.Name + "==" + r.Version)
		if err != nil {
			v.fail("%s line %d: %v", v.f.lockfile, r.Line, err)
			continue
		}
		rel, err := v.release(q)
		if rel == nil {
			if err != nil {
				return err
			}
			continue
		}
		ok := true
		for _, h := range r.SHA256 {
			fd, found := rel.FindFile("", h)
			if !found {
				v.fail("%s: --hash=sha256:%s (line %d) is not a file the log records for it", q, h, r.Line)
				ok = false
				continue
			}
			fmt.Fprintf(v.out, "ok %s %s sha256:%s\n", q, fd.Name, fd.SHA256)
		}
		if ok {
			v.verified++
		}
	}
	return nil
}

func (v *verifier) goSum(data []byte) error {
	lines, err := lockfile.ParseGoSum(data)
	if err != nil {
		return err
	}
	type modVersion struct{ mod, version string }
	var order []modVersion
	byVersion := map[modVersion][]lockfile.GoSumLine{}
	for _, l := range lines {
		k := modVersion{l.Module, l.Version}
		if _, ok := byVersion[k]; !ok {
			order = append(order, k)
		}
		byVersion[k] = append(byVersion[k], l)
	}
	for _, k := range order {
		q := logclient.Query{Ecosystem: "go", Name: k.mod, Version: k.version}
		rel, err := v.release(q)
		if rel == nil {
			if err != nil {
				return err
			}
			continue
		}
		logged := map[string]bool{}
		for _, l := range rel.Lines() {
			logged[l] = true
		}
		ok := true
		for _, l := range byVersion[k] {
			if !logged[l.Text] {
				v.fail("%s: go.sum line %d %q is not in the log's publish record", q, l.Line, l.Text)
				ok = false
			}
		}
		if ok {
			fmt.Fprintf(v.out, "ok %s (%d go.sum lines)\n", q, len(byVersion[k]))
			v.verified++
		}
	}
	return nil
}
