package registry

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// An Upload is a release, or files to add to one, as an adapter parsed it.
// Its metadata must already be derived from the artifacts themselves.
type Upload struct {
	Ecosystem trove.Ecosystem
	// Name is the package name as the client wrote it; it is normalized
	// with the ecosystem's rules and kept as the display name of a new package.
	Name    string
	Version string
	// Metadata is the release's metadata, owned by the adapter. It is
	// stored when the release is created and never changed by later files.
	Metadata json.RawMessage
	Files    []UploadFile
	// Tags are dist-tags to point at the release once it is published.
	Tags []string
	// AddFiles allows the release to exist already: the files are added to
	// it (PyPI uploads one file per request). Without it an existing
	// release is ErrExists.
	AddFiles bool
	// Lines are ecosystem-specific lines for the release's publish record,
	// each "<name> <word>…" (Go: the version's go.sum lines, so that the log
	// doubles as a checksum database).
	Lines []string
	// Private makes a new package private (npm publish --access
	// restricted); a new package in an organisation that makes its
	// packages private is private anyway. An existing package keeps its
	// access (SetPrivate changes it).
	Private bool
	// Dependencies are the packages of the same ecosystem that the release
	// depends on, as its artifact declares them. Names that are not valid
	// in the ecosystem are ignored.
	Dependencies []Dependency
}

// A Dependency is a package a release depends on, by name as written, and
// the version constraint written for it in the ecosystem's syntax (npm
// ranges, PEP 440 specifiers, a Go module version); "" for any version.
type Dependency struct {
	Name, Constraint string
}

// An UploadFile is one artifact of an Upload.
type UploadFile struct {
	Filename string
	Kind     string
	Content  *Staged
	Attrs    json.RawMessage // adapter-owned per-file attributes
	// Metadata is a document extracted from the file and stored beside it
	// (PyPI core metadata, PEP 658), or nil.
	Metadata []byte
}

// A Result describes a publish.
type Result struct {
	Package *trove.Package
	Release *trove.Release
	Files   []*trove.File // the files of the upload, as stored
	// Unchanged is true when every file was already published with the
	// same bytes: a retried upload that changed nothing.
	Unchanged bool
}

// Publish stores an upload and, once the scan pipeline lets it, makes it
// visible. See the package documentation for the states and invariants.
//
// Errors: ErrInvalid for bad names or versions, access errors when who may
// not publish the package, ErrExists when the version (or a filename) is
// taken (also by a deleted release), ErrRejected or ErrHeld from the
// scanners, ErrUnavailable when a scanner could not run or while the
// transparency log is read-only.
func (s *Service) Publish(ctx context.Context, who *access.Principal, u *Upload) (*Result, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	rules, name, key, err := s.parse(u.Ecosystem, u.Name, u.Version)
	if err != nil {
		return nil, err
	}
	ctx = as(ctx, who)
	s.note(ctx, u.Ecosystem, string(name), u.Version)
	switch {
	case u.Version == "":
		return nil, trove.Error(trove.ErrInvalid, "a release needs a version")
	case len(u.Files) == 0:
		return nil, trove.Error(trove.ErrInvalid, "a release needs at least one file")
	case len(u.Metadata) == 0:
		u.Metadata = json.RawMessage(`{}`)
	}
	// Cheap checks first, so that refused uploads write nothing at all.
	unchanged, err := s.checkUpload(ctx, who, rules, name, key, u)
	if err != nil || unchanged != nil {
		return unchanged, err
	}
	if err := s.storeBlobs(ctx, u); err != nil {
		return nil, err
	}
	res, err := s.quarantine(ctx, who, rules, name, key, u)
	if err != nil {
		return nil, err
	}
	// Cleanup must happen even if the client went away.
	bg := context.WithoutCancel(ctx)
	pending, err := s.scanQuarantined(ctx, bg, who, res, u, name, false)
	if err != nil {
		return nil, err
	}
	if err := s.publishQuarantined(bg, who, res, u, pending); err != nil {
		if errors.Is(err, access.ErrUnauthenticated) || errors.Is(err, access.ErrDenied) {
			s.discard(bg, res) // refused after the scan: nothing may stay
		}
		return nil, err
	}
	s.changed(u.Ecosystem, name)
	if err := s.sign(bg); err != nil {
		return nil, err
	}
	return res, nil
}

// checkUpload authorizes an upload and checks it against what exists: a
// new package's name and namespace, or an existing one's versions and
// filenames. A retried upload that changes nothing returns the existing
// state.
func (s *Service) checkUpload(ctx context.Context, who *access.Principal, rules Rules, name trove.Name, key string, u *Upload) (*Result, error) {
	pkg, err := s.db.Package(ctx, u.Ecosystem, name)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	if pkg != nil {
		if known, err := s.mayKnow(ctx, pkg); err != nil {
			return nil, err
		} else if !known {
			return nil, s.hiddenTaken(ctx, who, name, u)
		}
	}
	if err := s.authorizeAs(ctx, who, access.Publish, u.Ecosystem, name, pkg, true); err != nil {
		return nil, err
	}
	if err := s.checkVerified(ctx, who); err != nil {
		return nil, err
	}
	if err := s.checkUpstreamName(ctx, u.Ecosystem, name, pkg); err != nil {
		return nil, err
	}
	if pkg != nil {
		return s.checkNew(ctx, pkg, key, u)
	}
	if err := s.checkLookalike(ctx, s.db, who, rules, name); err != nil {
		return nil, err
	}
	_, err = s.checkCreate(ctx, s.db, who, rules, name)
	return nil, err
}

// storeBlobs stores the upload's files and extracted metadata: blobs
// before rows, so that a row never points at a missing blob.
func (s *Service) storeBlobs(ctx context.Context, u *Upload) error {
	for _, f := range u.Files {
		if err := blob.Put(ctx, s.blobs, f.Content.Reader(), f.Content.Digests.SHA256); err != nil {
			return fmt.Errorf("storing %s: %w", f.Filename, err)
		}
		if f.Metadata != nil {
			if err := blob.Put(ctx, s.blobs, bytes.NewReader(f.Metadata), blob.Sum(f.Metadata)); err != nil {
				return fmt.Errorf("storing metadata of %s: %w", f.Filename, err)
			}
		}
	}
	return nil
}

// scanQuarantined runs the scan pipeline on a quarantined upload and
// returns nil if it may be published, or the message telling the client
// that it waits for scanners that did not finish in time (pending); a
// refused upload is discarded, a held one recorded as held (with bg, which
// outlives the client). An import waits for every scanner: a proxy's
// client is waiting for the file, and must not get it before the scan.
func (s *Service) scanQuarantined(ctx, bg context.Context, who *access.Principal, res *Result, u *Upload, name trove.Name, imported bool) (pending string, err error) {
	a := artifact(u, name, res.Files)
	if err := s.addHistory(ctx, a, res); err != nil {
		s.discard(bg, res)
		return "", err
	}
	var report scan.Report
	var wait bool
	if imported {
		report, err = s.scan.Scan(ctx, a)
	} else {
		report, wait, err = s.scan.ScanUpload(ctx, a)
	}
	switch {
	case err != nil:
		s.discard(bg, res)
		return "", trove.Error(trove.ErrUnavailable, "upload checks could not run, nothing was published; try again later (%w)", err)
	case report.Verdict == scan.Reject:
		s.discard(bg, res)
		if imported {
			s.feedMalicious(bg, res, report)
		}
		return "", trove.Error(trove.ErrRejected, "%s %s was not published: %v", u.Name, u.Version, report.Err())
	case wait:
		return fmt.Sprintf("%s %s is held until this registry's scanners finish checking it, and is not visible yet: "+
			"it is published by itself when they pass (usually within a minute); if they hold or reject it, "+
			"the package's owners are emailed", u.Name, u.Version), nil
	case report.Verdict == scan.Hold:
		msg := heldMessage(u.Name, u.Version, report)
		err := s.db.Tx(bg, func(tx *meta.Tx) error {
			if err := saveScan(bg, tx, res, report, now(s)); err != nil {
				return err
			}
			return s.hold(bg, tx, who, res, u, "scan", msg, now(s))
		})
		if err != nil {
			return "", err
		}
		return "", trove.Error(trove.ErrHeld, "%s", msg)
	}
	if len(report.Scanners) == 0 {
		return "", nil // no scanner configured: nothing to record
	}
	return "", s.db.Tx(bg, func(tx *meta.Tx) error { return saveScan(bg, tx, res, report, now(s)) })
}

// heldMessage is what the publisher of an upload the scanners hold is
// told.
func heldMessage(name, version string, report scan.Report) string {
	return fmt.Sprintf("%s %s is held for review and is not visible: %v. The package's owners were emailed; "+
		"an administrator of this registry will release it (it then becomes installable as uploaded) or reject it", name, version, report.Err())
}

// authorize applies access.Authorize to the package, which may not exist.
func (s *Service) authorize(ctx context.Context, who *access.Principal, a access.Action, eco trove.Ecosystem, name trove.Name, pkg *trove.Package) error {
	return s.authorizeAs(ctx, who, a, eco, name, pkg, false)
}

// authorizeAs is authorize; upload also applies the package's
// trusted-only switch.
func (s *Service) authorizeAs(ctx context.Context, who *access.Principal, a access.Action, eco trove.Ecosystem, name trove.Name, pkg *trove.Package, upload bool) error {
	if !upload && a != access.Read {
		if err := uploadOnly(who); err != nil {
			return err
		}
	}
	r := access.Resource{Ecosystem: eco, Name: s.key(eco, name), Exists: pkg != nil}
	if pkg != nil && who != nil {
		role, err := roleOf(ctx, s.db, pkg.ID, who.UserID)
		if err != nil {
			return err
		}
		r.Role = role
	}
	r, err := s.withPolicy(ctx, s.db, pkg, r)
	if err != nil {
		return err
	}
	if upload {
		if r, err = withTrustedOnly(ctx, s.db, pkg, r); err != nil {
			return err
		}
	}
	return s.explain(access.Authorize(who, a, r))
}

// checkLookalike refuses a new name whose skeleton an existing package has,
// or that looks like a popular name (checkPopular). It runs before
// anything is written and again inside the transaction that creates the
// package.
func (s *Service) checkLookalike(ctx context.Context, q nsReader, who *access.Principal, rules Rules, name trove.Name) error {
	sk := rules.Skeleton(name)
	if sk == "" {
		return nil
	}
	similar, err := q.PackagesBySkeleton(ctx, rules.Ecosystem(), sk)
	if err != nil {
		return err
	}
	for _, p := range similar {
		if p.Name == name {
			continue
		}
		if ok, err := s.mayRead(ctx, p); err != nil || !ok {
			// A private package's name is not told.
			return cmp.Or(err, trove.Error(access.ErrDenied, "package name %q is too similar to an existing package; choose another name", name))
		}
		return trove.Error(access.ErrDenied, "package name %q is too similar to the existing package %q; choose another name", name, p.DisplayName)
	}
	return s.checkPopular(rules, name, who)
}

// hiddenTaken answers an upload to a private package that who may not
// know exists: the refusals of the credentials a new package of that name
// would get (the token's scope, an unverified address), and otherwise
// that the name is not available, without saying why (the namespace's
// checks are not run: they would see the package). That a name is taken
// cannot be hidden from someone trying to take it.
func (s *Service) hiddenTaken(ctx context.Context, who *access.Principal, name trove.Name, u *Upload) error {
	if err := s.authorizeAs(ctx, who, access.Publish, u.Ecosystem, name, nil, true); err != nil {
		return err
	}
	if err := s.checkVerified(ctx, who); err != nil {
		return err
	}
	return trove.Error(ErrNotAvailable, "the name %s is not available: choose another name", u.Name)
}

// checkNew refuses an upload that would reuse a version or a filename of
// an existing package. If every file is already published with the same
// bytes it returns the existing state as an unchanged Result.
func (s *Service) checkNew(ctx context.Context, pkg *trove.Package, key string, u *Upload) (*Result, error) {
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, s.checkFilenames(ctx, pkg, u)
	}
	if err != nil {
		return nil, err
	}
	if err := versionTaken(pkg, rel, u); err != nil {
		return nil, err
	}
	var files []*trove.File
	for _, f := range u.Files {
		old, err := s.db.File(ctx, pkg.ID, f.Filename)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := filenameTaken(old, f, rel); err != nil {
			return nil, err
		}
		files = append(files, old)
	}
	if len(files) == len(u.Files) {
		return &Result{Package: pkg, Release: rel, Files: files, Unchanged: true}, nil
	}
	return nil, nil
}

// checkFilenames refuses filenames the package used for another release.
func (s *Service) checkFilenames(ctx context.Context, pkg *trove.Package, u *Upload) error {
	for _, f := range u.Files {
		old, err := s.db.File(ctx, pkg.ID, f.Filename)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		return trove.Error(trove.ErrExists, "file %s already exists (%s); filenames are never reused, even after deletion", f.Filename, old.State)
	}
	return nil
}

func versionTaken(pkg *trove.Package, rel *trove.Release, u *Upload) error {
	switch {
	case rel.State == trove.Deleted:
		return trove.Error(trove.ErrExists, "%s %s was deleted; a deleted version can never be published again, publish a new version", pkg.DisplayName, rel.Version)
	case rel.State == trove.Suspended:
		return trove.Error(trove.ErrExists, "%s %s is quarantined by this registry's administrators: nothing can be added to it, nor published over it; publish a new version, or ask them", pkg.DisplayName, rel.Version)
	case rel.State == trove.Quarantined:
		return trove.Error(trove.ErrInProgress, "%s %s is being published by another upload, or is held for review", pkg.DisplayName, rel.Version)
	case !u.AddFiles:
		return trove.Error(trove.ErrExists, "you cannot publish over the previously published version %s of %s: versions are immutable, publish a new version", rel.Version, pkg.DisplayName)
	}
	return nil
}

// filenameTaken allows an existing file only when it is the same bytes in
// the same release, already visible.
func filenameTaken(old *trove.File, f UploadFile, rel *trove.Release) error {
	if old.ReleaseID == rel.ID && old.SHA256 == string(f.Content.Digests.SHA256) &&
		(old.State == trove.Published || old.State == trove.Yanked) {
		return nil
	}
	return trove.Error(trove.ErrExists, "file %s already exists with different content or in another state (%s); filenames are never reused", f.Filename, old.State)
}

// quarantine records the upload, invisible, in one transaction. The
// database's uniqueness constraints settle races between concurrent
// publishers of the same version or filename.
func (s *Service) quarantine(ctx context.Context, who *access.Principal, rules Rules, name trove.Name, key string, u *Upload) (*Result, error) {
	res := &Result{}
	at := now(s)
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		if res.Package, err = s.packageFor(ctx, tx, who, rules, name, u, at); err != nil {
			return err
		}
		if res.Release, err = releaseFor(ctx, tx, who, rules, res.Package, key, u, at); err != nil {
			return err
		}
		res.Files, err = insertFiles(ctx, tx, res.Package, res.Release, u.Files, at)
		return err
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, trove.Error(trove.ErrInProgress, "%s %s, or one of its filenames, was taken by a concurrent upload; versions are immutable", u.Name, u.Version)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// insertFiles records an upload's files, quarantined, in its release.
func insertFiles(ctx context.Context, tx *meta.Tx, pkg *trove.Package, rel *trove.Release, files []UploadFile, at time.Time) ([]*trove.File, error) {
	var out []*trove.File
	for _, f := range files {
		mf := &trove.File{ReleaseID: rel.ID, PackageID: pkg.ID, Filename: f.Filename, Kind: f.Kind, State: trove.Quarantined,
			Size: f.Content.Size(), SHA256: string(f.Content.Digests.SHA256), SHA512: f.Content.Digests.SHA512,
			SHA1: f.Content.Digests.SHA1, Blake2b256: f.Content.Digests.Blake2b256, MD5: f.Content.Digests.MD5,
			Attrs: f.Attrs, CreatedAt: at}
		if f.Metadata != nil {
			mf.MetadataSHA256 = string(blob.Sum(f.Metadata))
		}
		if err := tx.InsertFile(ctx, mf); err != nil {
			return nil, err
		}
		out = append(out, mf)
	}
	return out, nil
}

// packageFor returns the upload's package within tx, with its row locked,
// creating it (owned by who) if it does not exist. Both cases are checked
// again here: the package, its namespace or a look-alike may have been
// created since the checks before the transaction, and a new package's
// collisions are checked under name locks, so that of concurrent creators
// of colliding names the later sees the earlier.
func (s *Service) packageFor(ctx context.Context, tx *meta.Tx, who *access.Principal, rules Rules, name trove.Name, u *Upload, at time.Time) (*trove.Package, error) {
	pkg, err := tx.PackageForUpdate(ctx, u.Ecosystem, name)
	if errors.Is(err, meta.ErrNotFound) {
		if err := lockNames(ctx, tx, rules, name); err != nil {
			return nil, err
		}
		pkg, err = tx.PackageForUpdate(ctx, u.Ecosystem, name)
	}
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return s.createPackage(ctx, tx, who, rules, name, u, at)
	case err != nil:
		return nil, err
	case pkg.Upstream:
		return nil, s.checkUpstreamName(ctx, u.Ecosystem, name, pkg)
	}
	return pkg, s.recheckUpload(ctx, tx, who, pkg)
}

// createPackage creates the upload's package within tx, under the name
// locks, once the look-alike and namespace checks pass.
func (s *Service) createPackage(ctx context.Context, tx *meta.Tx, who *access.Principal, rules Rules, name trove.Name, u *Upload, at time.Time) (*trove.Package, error) {
	if err := s.checkLookalike(ctx, tx, who, rules, name); err != nil {
		return nil, err
	}
	org, err := s.checkCreate(ctx, tx, who, rules, name)
	if err != nil {
		return nil, err
	}
	if err := liveToken(ctx, tx, who); err != nil {
		return nil, err
	}
	pkg := &trove.Package{Ecosystem: u.Ecosystem, Name: name, DisplayName: u.Name,
		Skeleton: rules.Skeleton(name), Namespace: namespaceOf(rules, name).Key, CreatedAt: at,
		Private: u.Private || org != nil && org.PrivateDefault}
	if org != nil {
		// The organisation's members hold their roles on it; its
		// creator, a maintainer or owner there, needs no grant of its own.
		pkg.OrgID = org.ID
		return pkg, tx.InsertPackage(ctx, pkg)
	}
	if err := tx.InsertPackage(ctx, pkg); err != nil {
		return nil, err
	}
	return pkg, tx.AddOwner(ctx, pkg.ID, who.UserID, at)
}

// releaseFor returns the upload's release within tx, recording it
// quarantined (with its dependencies) if it does not exist.
func releaseFor(ctx context.Context, tx *meta.Tx, who *access.Principal, rules Rules, pkg *trove.Package, key string, u *Upload, at time.Time) (*trove.Release, error) {
	rel, err := tx.Release(ctx, pkg.ID, key)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		rel = &trove.Release{PackageID: pkg.ID, Version: u.Version, VersionKey: key, State: trove.Quarantined,
			Metadata: u.Metadata, PublisherID: who.UserID, TokenID: who.TokenID, CreatedAt: at, AuthLevel: who.Level}
		if err := tx.InsertRelease(ctx, rel); err != nil {
			return nil, err
		}
		return rel, tx.InsertDependencies(ctx, rel.ID, u.Ecosystem, dependencies(rules, u.Dependencies))
	case err != nil:
		return nil, err
	}
	return rel, versionTaken(pkg, rel, u)
}

// publishQuarantined makes a quarantined upload visible, points its tags
// and logs it, after the worm guard: an upload that makes its credential
// cross the burst limit is held instead. An upload whose scan is pending
// (its message) passes the same checks and is then held for the scan job
// (HoldPending), which publishes it when the scanners pass.
func (s *Service) publishQuarantined(ctx context.Context, who *access.Principal, res *Result, u *Upload, pending string) error {
	at := now(s)
	held := ""
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		if s.burst.Packages > 0 {
			// Before the package's row: credential locks come first.
			if err := tx.LockCredential(ctx, credential(who)); err != nil {
				return err
			}
		}
		if err := s.recheckUpload(ctx, tx, who, res.Package); err != nil {
			return err
		}
		var err error
		if held, err = s.checkBurst(ctx, tx, who, res, at); err != nil || held != "" {
			if err != nil {
				return err
			}
			return s.hold(ctx, tx, who, res, u, "burst", held, at)
		}
		if pending != "" {
			held = pending
			return tx.InsertHold(ctx, &meta.Hold{ReleaseID: res.Release.ID, Reason: meta.HoldPending, Message: pending, Tags: u.Tags, Lines: u.Lines, At: at})
		}
		return publishTx(ctx, tx, res, u.Tags, u.Lines, at)
	})
	if err == nil && held != "" {
		return trove.Error(trove.ErrHeld, "%s", held)
	}
	return err
}

// publishTx makes the quarantined upload in res visible within tx, with
// its tags, its publish record and its change-feed entry.
func publishTx(ctx context.Context, tx *meta.Tx, res *Result, tags, lines []string, at time.Time) error {
	ev := &translog.Event{Kind: "publish", Ecosystem: string(res.Package.Ecosystem), Name: string(res.Package.Name), Version: res.Release.Version,
		Time: at, Lines: lines}
	for _, f := range res.Files {
		ev.Files = append(ev.Files, translog.FileDigest{Name: f.Filename, SHA256: f.SHA256})
	}
	for _, t := range tags {
		ev.Tags = append(ev.Tags, translog.TagChange{Tag: t, Version: res.Release.Version})
	}
	if err := makeVisible(ctx, tx, res, at); err != nil {
		return err
	}
	for _, t := range tags {
		if err := tx.SetDistTag(ctx, res.Package.ID, t, res.Release.ID); err != nil {
			return err
		}
	}
	if err := logFirstOwners(ctx, tx, res.Package, at); err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, ev); err != nil {
		return err
	}
	_, err := tx.AddChange(ctx, res.Package, "publish", at)
	return err
}

// makeVisible publishes a quarantined release, or the quarantined files
// added to a visible one.
func makeVisible(ctx context.Context, tx *meta.Tx, res *Result, at time.Time) error {
	if res.Release.State == trove.Quarantined {
		if err := tx.SetReleaseState(ctx, res.Release.ID, trove.Quarantined, trove.Published, at); err != nil {
			return fmt.Errorf("publishing %s: %w", res.Release.Version, err)
		}
		res.Release.State, res.Release.PublishedAt = trove.Published, at
	} else {
		for _, f := range res.Files {
			if err := tx.SetFileState(ctx, f.ID, trove.Quarantined, trove.Published); err != nil {
				return fmt.Errorf("publishing %s: %w", f.Filename, err)
			}
		}
	}
	for _, f := range res.Files {
		f.State = trove.Published
	}
	return nil
}

// logFirstOwners appends an owner record naming the package's owners when
// its first release becomes visible: until then the package, and who owns
// it, are not public. Later owner changes append their own records.
func logFirstOwners(ctx context.Context, tx *meta.Tx, pkg *trove.Package, at time.Time) error {
	entries, err := tx.LogEntries(ctx, pkg.Ecosystem, pkg.Name, "")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Kind == "owner" {
			return nil
		}
	}
	owners, err := tx.Owners(ctx, pkg.ID)
	if err != nil {
		return err
	}
	ev := &translog.Event{Kind: "owner", Ecosystem: string(pkg.Ecosystem), Name: string(pkg.Name), Time: at}
	for _, o := range owners {
		ev.Owners = append(ev.Owners, translog.OwnerChange{Add: true, User: o.Name})
	}
	if pkg.OrgID != 0 {
		o, err := tx.OrgByID(ctx, pkg.OrgID)
		if err != nil {
			return err
		}
		ev.Owners = append(ev.Owners, translog.OwnerChange{Add: true, User: OrgOwner(o.Name)})
	}
	if len(ev.Owners) == 0 {
		return nil
	}
	return appendEvent(ctx, tx, ev)
}

// discard removes the rows of an upload that never became visible.
func (s *Service) discard(ctx context.Context, res *Result) {
	err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.DiscardQuarantined(ctx, res.Release.ID) })
	if err != nil {
		log().Error("discarding quarantined upload", "release", res.Release.ID, "err", err)
	}
}

func artifact(u *Upload, name trove.Name, files []*trove.File) *scan.Artifact {
	a := &scan.Artifact{Ecosystem: string(u.Ecosystem), Name: string(name), Version: u.Version, Metadata: u.Metadata}
	for i, f := range u.Files {
		a.Files = append(a.Files, scan.File{Name: files[i].Filename, Size: f.Content.Size(), Content: f.Content})
	}
	return a
}

// dependencies returns the dependencies with valid names, normalized.
func dependencies(rules Rules, deps []Dependency) []meta.Dependency {
	var out []meta.Dependency
	for _, d := range deps {
		if n, err := rules.ParseName(d.Name); err == nil {
			out = append(out, meta.Dependency{Name: n, Constraint: d.Constraint})
		}
	}
	return out
}
