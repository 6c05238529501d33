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
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/lockfile"
	"github.com/trove-dev/trove/internal/logclient"
	"github.com/trove-dev/trove/internal/translog"
)

// maxArtifactSize bounds a tarball downloaded to check a lockfile.
const maxArtifactSize = 1 << 30

type verifyFlags struct {
	url, key, keyFile, state string
	lockfile, format, file   string
	proof                    string
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
  trove verify --proof record-517.tlog-proof
      offline: check a proof downloaded from <url>/log/proof/517 (the
      record's page links to it) and print the record it proves

Private packages are verified with a token ($TROVE_TOKEN, sent to the
registry only) that may read them (a reader role and the read-private
action); without one they are unknown names, and --audit counts their
records as private, contents withheld.

The verifier key (--key, --key-file or $TROVE_LOG_KEY) must come from the
registry's operator (trove log key), not from the server being checked: a
key fetched from the server proves nothing.

A release yanked later is a warning; a deleted, taken-down or quarantined
one fails unless --allow-deleted. The exit status is non-zero on any failure.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.proof != "" {
				if len(args) > 0 || f.lockfile != "" || f.audit || f.file != "" {
					return hinted{errors.New("--proof checks one proof offline, alone"), "run trove verify again for package versions, --lockfile or --audit"}
				}
				return verifyProof(f, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
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
	fl.BoolVar(&f.allowDeleted, "allow-deleted", false, "warn about, instead of failing, versions deleted, taken down or quarantined after publishing")
	fl.StringVar(&f.proof, "proof", "", "check a C2SP tlog-proof file offline (from <url>/log/proof/N) and print its record")
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

// verifyProof checks a C2SP tlog-proof offline: the checkpoint's
// signature with the log's key, and the record (the proof's extra data) at
// its index in the checkpoint's tree. It prints the record.
func verifyProof(f *verifyFlags, stdout, stderr io.Writer) error {
	key, err := verifyKey(f)
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return hinted{fmt.Errorf("log verifier key: %w", err), "the key looks like <origin>+<8 hex digits>+<base64>, as trove log key prints it"}
	}
	file, err := os.Open(f.proof)
	if err != nil {
		return fmt.Errorf("reading --proof: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, translog.MaxProofSize+1))
	if err != nil {
		return fmt.Errorf("reading --proof: %w", err)
	}
	p, err := translog.OpenProof(data, v, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", f.proof, err)
	}
	fmt.Fprintf(stdout, "record %d is in the tree of %d records signed by %s (root %v):\n%s", p.ID, p.Tree.N, v.Name(), p.Tree.Hash, p.Text)
	fmt.Fprintf(stderr, "trove: checked offline: this proves inclusion in that checkpoint only; run trove verify with the release to check the checkpoint against your earlier ones\n")
	return nil
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
	// A token (TROVE_TOKEN) with read-private lets the server answer for
	// the private packages it may read; without one they are unknown.
	token := os.Getenv("TROVE_TOKEN")
	ops := &logclient.HTTPOps{Base: strings.TrimRight(f.url, "/") + "/log/", Token: token, Client: client, Stderr: stderr, Ctx: ctx}
	c, err := logclient.New(ops, key)
	if err != nil {
		return hinted{err, "the key looks like <origin>+<8 hex digits>+<base64>, as trove log key prints it"}
	}
	if ops.Dir, err = stateDir(f, c.Origin()); err != nil {
		return err
	}
	v := &verifier{c: c, f: f, base: strings.TrimRight(f.url, "/"), token: token, out: stdout, errw: stderr, ctx: ctx, client: client}
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
		if a.Private > 0 {
			noun := "records"
			if a.Private == 1 {
				noun = "record"
			}
			fmt.Fprintf(stdout, "  %d private %s, contents withheld (each counted by the leaf hash the log gives for it)\n", a.Private, noun)
		}
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
	token    string // sent to the registry (base) only
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
	case s.Quarantined && !v.f.allowDeleted:
		v.fail("%s: quarantined by the registry's administrators after publishing (reason %q): it cannot be installed while they look into it; --allow-deleted accepts it", q, s.QuarantineReason)
		return nil, nil
	case s.Quarantined:
		fmt.Fprintf(v.errw, "trove: warning: %s: quarantined by the registry's administrators after publishing (reason %q)\n", q, s.QuarantineReason)
	}
	if s.Yanked {
		fmt.Fprintf(v.errw, "trove: warning: %s: yanked (reason %q)\n", q, s.YankReason)
	}
	if s.Deprecated != "" {
		v.note("%s: deprecated: %s", q, s.Deprecated)
	}
	return rel, nil
}

// query parses a spec: ECOSYSTEM:NAME@VERSION, or ECOSYSTEM:NAME==VERSION
// as pip writes it.
func query(spec string) (logclient.Query, error) {
	eco, rest, _ := strings.Cut(spec, ":")
	name, version, ok := strings.Cut(rest, "==")
	if i := strings.LastIndex(rest, "@"); !ok && i > 0 {
		name, version, ok = rest[:i], rest[i+1:], true
	}
	if !ok || name == "" || version == "" {
		var examples []string
		for _, e := range ecosystems {
			examples = append(examples, string(e.rules.Ecosystem())+":NAME@VERSION")
		}
		return logclient.Query{}, hinted{fmt.Errorf("%q is not ECOSYSTEM:NAME@VERSION", spec), "write " + strings.Join(examples, ", ")}
	}
	return queryOf(eco, name, version)
}

// queryOf checks a package version with its ecosystem's rules.
func queryOf(eco, name, version string) (logclient.Query, error) {
	var known []string
	for _, e := range ecosystems {
		r := e.rules
		if string(r.Ecosystem()) != eco {
			known = append(known, string(r.Ecosystem()))
			continue
		}
		n, err := r.ParseName(name)
		if err != nil {
			return logclient.Query{}, err
		}
		if _, err := r.VersionKey(version); err != nil {
			return logclient.Query{}, err
		}
		return logclient.Query{Ecosystem: eco, Name: string(n), Version: version, VersionKey: r.VersionKey}, nil
	}
	return logclient.Query{}, fmt.Errorf("unknown ecosystem %q (want one of %s)", eco, strings.Join(known, ", "))
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
	formats := lockfileFormats()
	var format lockfile.Format
	var err error
	if v.f.format != "" {
		format, err = lockfile.ByName(formats, v.f.format)
	} else if format, err = lockfile.Detect(formats, filepath.Base(v.f.lockfile)); err != nil {
		var names []string
		for _, f := range formats {
			names = append(names, f.Name())
		}
		return hinted{err, "give the format with --format " + strings.Join(names, ", ")}
	}
	if err != nil {
		return err
	}
	data, err := os.ReadFile(v.f.lockfile)
	if err != nil {
		return err
	}
	if len(data) > lockfile.MaxSize {
		return fmt.Errorf("%s: larger than %d bytes", v.f.lockfile, lockfile.MaxSize)
	}
	rep, err := format.Read(data, v.base)
	if he, ok := errors.AsType[*lockfile.HintedError](err); ok {
		return hinted{fmt.Errorf("%s: %w", v.f.lockfile, he.Err), he.Hint}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", v.f.lockfile, err)
	}
	return v.report(rep)
}

// report verifies what a lockfile pins, after noting what it does not.
func (v *verifier) report(rep *lockfile.Report) error {
	for _, n := range rep.Notes {
		v.note("%s", n)
	}
	for _, f := range rep.Fails {
		v.failed += max(f.Count, 1)
		fmt.Fprintf(v.errw, "trove: FAIL %s: %s\n", v.f.lockfile, f.Summary)
		for _, d := range f.Details {
			fmt.Fprintf(v.errw, "trove:   %s\n", d)
		}
	}
	if rep.Hint != "" {
		v.hint = rep.Hint
	}
	for _, p := range rep.Pins {
		if err := v.pin(p); err != nil {
			return err
		}
	}
	return nil
}

// pin verifies one package version a lockfile pins. It returns an error
// only to stop the run (a security error).
func (v *verifier) pin(p lockfile.Pin) error {
	q, err := queryOf(p.Ecosystem, p.Name, p.Version)
	if err != nil {
		v.fail("%s: %v", p, err)
		return nil
	}
	var downloaded string // the SHA-256 of the file downloaded
	if p.Download != "" {
		if downloaded = v.fetch(q, p); downloaded == "" {
			return nil
		}
	}
	rel, err := v.release(q)
	if rel == nil {
		return err
	}
	ok := true
	if downloaded != "" {
		ok = v.logged(q, rel, path.Base(p.Download), downloaded, "the downloaded file's sha256:"+downloaded+" is not the file the log records for it")
	}
	for _, d := range p.Files {
		ok = v.logged(q, rel, "", d.SHA256, fmt.Sprintf("sha256:%s (%s) is not a file the log records for it", d.SHA256, d.Where)) && ok
	}
	if len(p.Lines) > 0 {
		ok = v.lines(q, rel, p) && ok
	}
	if ok {
		v.verified++
	}
	return nil
}

// fetch downloads the file a pin names and checks it against the
// lockfile's SHA-512; it returns its SHA-256, or "" after counting a failure.
func (v *verifier) fetch(q logclient.Query, p lockfile.Pin) string {
	if p.SHA512 == "" {
		v.fail("%s: the lockfile has no sha512 integrity for it", q)
		return ""
	}
	sha512sum, sha256sum, err := v.download(p.Download)
	switch {
	case err != nil:
		v.fail("%s: %v", q, err)
	case sha512sum != p.SHA512:
		v.fail("%s: %s has sha512-%s, but the lockfile's integrity is sha512-%s", q, p.Download, sha512sum, p.SHA512)
	default:
		return sha256sum
	}
	return ""
}

// logged reports whether the file with the digest is one the log records
// for the release (preferring one named name), printing it, or fails.
func (v *verifier) logged(q logclient.Query, rel *logclient.Release, name, sha256 string, failure string) bool {
	fd, ok := rel.FindFile(name, sha256)
	if !ok && name != "" {
		fd, ok = rel.FindFile("", sha256)
	}
	if !ok {
		v.fail("%s: %s", q, failure)
		return false
	}
	fmt.Fprintf(v.out, "ok %s %s sha256:%s\n", q, fd.Name, fd.SHA256)
	return true
}

// lines reports whether every line a pin holds is in the release's
// publish record, or fails.
func (v *verifier) lines(q logclient.Query, rel *logclient.Release, p lockfile.Pin) bool {
	logged := map[string]bool{}
	for _, l := range rel.Lines() {
		logged[l] = true
	}
	ok := true
	for _, l := range p.Lines {
		if !logged[l.Text] {
			v.fail("%s: %s %q is not in the log's publish record", q, l.Where, l.Text)
			ok = false
		}
	}
	if ok {
		fmt.Fprintf(v.out, "ok %s (%d %s)\n", q, len(p.Lines), p.LinesWhat)
	}
	return ok
}

// download fetches a tarball and returns its sha512 (base64) and sha256 (hex).
func (v *verifier) download(u string) (sha512b64, sha256hex string, err error) {
	req, err := http.NewRequestWithContext(v.ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", "", err
	}
	if v.token != "" && strings.HasPrefix(u, v.base+"/") {
		req.Header.Set("Authorization", "Bearer "+v.token)
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
