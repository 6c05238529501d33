package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// A Rebuilder is the part of an ecosystem's Rules that recovery needs: it
// rebuilds, from the files of a publish record, the upload its adapter
// made of them when they were published. Every ecosystem registered in
// cmd/trove has one.
type Rebuilder interface {
	// Rebuild returns the upload of a publish record's files, given in the
	// record's order and staged with their digests: the release metadata,
	// each file's kind, attributes and extracted metadata, the
	// dependencies and the record lines, all derived from the files as
	// publishing derives them (the record does not carry them). Who
	// published is not in the record and stays unknown. Files that do not
	// make the release the record names are ErrInvalid.
	Rebuild(ev *translog.Event, files []*Staged) (*Upload, error)
}

// replayFileLimit bounds a file staged from the blob store for Replay:
// the blob's digest was checked when it was stored, and is again.
const replayFileLimit = 1 << 40

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// A Replayed is a record that Replay applied, or would apply.
type Replayed struct {
	ID      int64
	Summary string // the record's second line: <kind> <ecosystem> <name> [<version>]
}

// ReplayProblems returns what replaying the records needs and the blob
// store or the database lacks: the files of publish records (present,
// with the digests the records give) and the users that owner records
// name. Replay refuses to start while there are any.
func (s *Service) ReplayProblems(ctx context.Context, first int64, records [][]byte) ([]string, error) {
	var out []string
	missing := map[string]bool{} // users, reported once
	for i, text := range records {
		ev, err := translog.ParseEvent(text)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", first+int64(i), err)
		}
		for _, f := range ev.Files {
			if _, err := s.blobs.Stat(ctx, blob.Digest(f.SHA256)); err != nil {
				out = append(out, fmt.Sprintf("record %d (%s %s %s): file %s, sha256 %s: %v", first+int64(i), ev.Ecosystem, ev.Name, ev.Version, f.Name, f.SHA256, err))
			}
		}
		for _, o := range ev.Owners {
			if missing[o.User] {
				continue
			}
			if _, err := s.db.UserByName(ctx, o.User); errors.Is(err, meta.ErrNotFound) {
				missing[o.User] = true
				out = append(out, fmt.Sprintf("record %d (owner of %s %s): no user %s in the database (created after the backup?): create the account with `trove admin user add %s --email ADDRESS`",
					first+int64(i), ev.Ecosystem, ev.Name, o.User, o.User))
			} else if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Replay appends records to the transparency log as records first,
// first+1, …, byte for byte, each in one transaction with the state
// change it describes, rebuilt from the record and the blob store:
// releases and files of publish records (their metadata rederived from
// the files by the ecosystem's Rebuilder), yanks, deprecations,
// deletions, tags and owners. It is how a database restored from an old
// backup catches up with the log it published (trove log recover): the
// tree it makes is the published one, and nothing acknowledged is lost.
// The records must be proved to be the published ones (translog.Log.Missing)
// before. Each committed record is reported; a failure leaves the
// records before it committed, so running it again resumes.
//
// With dryRun everything is done in one transaction that is rolled back,
// nothing is stored, and report sees what would be done.
func (s *Service) Replay(ctx context.Context, first int64, records [][]byte, dryRun bool, report func(Replayed)) error {
	if dryRun {
		err := s.db.Tx(ctx, func(tx *meta.Tx) error {
			for i := 0; i < len(records); {
				done, err := s.replayUnit(ctx, tx, first+int64(i), records[i:], true)
				if err != nil {
					return err
				}
				reportAll(report, done)
				i += len(done)
			}
			return errDryRun
		})
		if errors.Is(err, errDryRun) {
			return nil
		}
		return err
	}
	for i := 0; i < len(records); {
		var done []Replayed
		err := s.db.Tx(ctx, func(tx *meta.Tx) error {
			var err error
			done, err = s.replayUnit(ctx, tx, first+int64(i), records[i:], false)
			return err
		})
		if err != nil {
			return err
		}
		ev, _ := translog.ParseEvent(records[i])
		s.changed(trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name))
		reportAll(report, done)
		i += len(done)
	}
	return nil
}

func reportAll(report func(Replayed), done []Replayed) {
	for _, r := range done {
		if report != nil {
			report(r)
		}
	}
}

// A replay is one record being replayed within tx.
type replay struct {
	ctx   context.Context
	s     *Service
	tx    *meta.Tx
	id    int64
	text  []byte
	ev    *translog.Event
	rules Rules
	name  trove.Name
	dry   bool
}

// replayUnit replays records[0], record id, and returns what it replayed:
// one record, or the owner record of a new package with the publish
// record that follows it (both were appended in one transaction).
func (s *Service) replayUnit(ctx context.Context, tx *meta.Tx, id int64, records [][]byte, dry bool) ([]Replayed, error) {
	if ok, err := s.replayRecorded(ctx, tx, id, records[0]); ok || err != nil {
		return []Replayed{{ID: id, Summary: summary(records[0])}}, err
	}
	r, err := s.newReplay(ctx, tx, id, records[0], dry)
	if err != nil {
		return nil, err
	}
	done := []Replayed{{ID: id, Summary: summary(records[0])}}
	if r.ev.Kind == "publish" || r.ev.Kind == "proxy" {
		return done, r.publish(nil)
	}
	if r.ev.Kind == "except" {
		return done, r.except()
	}
	if r.ev.Kind != "owner" {
		return done, r.change()
	}
	_, err = tx.Package(ctx, trove.Ecosystem(r.ev.Ecosystem), r.name)
	if !errors.Is(err, meta.ErrNotFound) {
		if err != nil {
			return nil, err
		}
		return done, r.change()
	}
	// A package's first owners are logged just before its first release.
	if len(records) < 2 {
		return nil, fmt.Errorf("record %d names the first owners of %s %s, but the publish record that follows it is missing", id, r.ev.Ecosystem, r.ev.Name)
	}
	next, err := s.newReplay(ctx, tx, id+1, records[1], dry)
	if err != nil {
		return nil, err
	}
	if next.ev.Kind != "publish" || next.ev.Ecosystem != r.ev.Ecosystem || next.name != r.name {
		return nil, fmt.Errorf("record %d names the first owners of %s %s, which does not exist, and record %d does not publish it", id, r.ev.Ecosystem, r.ev.Name, id+1)
	}
	return append(done, Replayed{ID: id + 1, Summary: summary(records[1])}), next.publish(r)
}

// newReplay parses a record and checks its ecosystem and name.
func (s *Service) newReplay(ctx context.Context, tx *meta.Tx, id int64, text []byte, dry bool) (*replay, error) {
	ev, err := translog.ParseEvent(text)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", id, err)
	}
	rules, name, _, err := s.parse(trove.Ecosystem(ev.Ecosystem), ev.Name, "")
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", id, err)
	}
	if string(name) != ev.Name {
		return nil, fmt.Errorf("record %d: the name %q is not normalized (%q)", id, ev.Name, name)
	}
	return &replay{ctx: ctx, s: s, tx: tx, id: id, text: text, ev: ev, rules: rules, name: name, dry: dry}, nil
}

// summary returns a record's second line.
func summary(text []byte) string {
	lines := strings.SplitN(string(text), "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}

// fail returns an error about the record.
func (r *replay) fail(format string, args ...any) error {
	return fmt.Errorf("record %d (%s %s %s): %s", r.id, r.ev.Kind, r.ev.Ecosystem, r.ev.Name, fmt.Sprintf(format, args...))
}

// appendRecord appends the record's own bytes, which must become record
// r.id, indexes it and adds it to the change feed.
func (r *replay) appendRecord(pkg *trove.Package) error {
	got, err := translog.Append(r.ctx, r.tx, r.text)
	if err != nil {
		return err
	}
	if got != r.id {
		return r.fail("it would be appended as record %d: the log changed while recovering; run the recovery again", got)
	}
	if err := r.tx.IndexLogRecord(r.ctx, pkg.Ecosystem, pkg.Name, r.ev.Version, r.ev.Kind, r.id); err != nil {
		return err
	}
	_, err = r.tx.AddChange(r.ctx, pkg, r.ev.Kind, r.ev.Time)
	return err
}

// except replays an administrator's upstream exception.
func (r *replay) except() error {
	eco, kind := trove.Ecosystem(r.ev.Ecosystem), deref(r.ev.Message)
	var err error
	if kind == "" {
		err = r.tx.DeleteUpstreamException(r.ctx, eco, r.name)
		if errors.Is(err, meta.ErrNotFound) {
			err = nil
		}
	} else {
		err = r.tx.PutUpstreamException(r.ctx, &meta.UpstreamException{Ecosystem: eco, Name: r.name, Kind: kind,
			Reason: deref(r.ev.Reason), CreatedBy: "trove log recover", CreatedAt: r.ev.Time})
	}
	if err != nil {
		return r.fail("%v", err)
	}
	pkg, err := r.tx.Package(r.ctx, eco, r.name)
	if errors.Is(err, meta.ErrNotFound) {
		got, err := translog.Append(r.ctx, r.tx, r.text)
		if err != nil {
			return err
		}
		if got != r.id {
			return r.fail("it would be appended as record %d: the log changed while recovering; run the recovery again", got)
		}
		if err := r.tx.IndexLogRecord(r.ctx, eco, r.name, "", r.ev.Kind, r.id); err != nil {
			return err
		}
		_, err = r.tx.AddFeedEntry(r.ctx, eco, string(r.name), r.ev.Kind, r.ev.Time)
		return err
	}
	if err != nil {
		return err
	}
	return r.appendRecord(pkg)
}

// release returns the package's release with the version.
func (r *replay) release(pkg *trove.Package, version string) (*trove.Release, error) {
	key, err := r.rules.VersionKey(version)
	if err != nil {
		return nil, r.fail("version %s: %v", version, err)
	}
	rel, err := r.tx.Release(r.ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, r.fail("the database has no release %s: the records before this one were not all replayed", version)
	}
	return rel, err
}

// tags applies the record's tag and untag lines.
func (r *replay) tags(pkg *trove.Package) error {
	for _, t := range r.ev.Tags {
		if t.Version == "" {
			if err := r.tx.DeleteDistTag(r.ctx, pkg.ID, t.Tag); err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			continue
		}
		rel, err := r.release(pkg, t.Version)
		if err != nil {
			return err
		}
		if err := r.tx.SetDistTag(r.ctx, pkg.ID, t.Tag, rel.ID); err != nil {
			return err
		}
	}
	return nil
}

// owners applies the record's owner lines.
func (r *replay) owners(pkg *trove.Package) error {
	for _, o := range r.ev.Owners {
		if org, ok := strings.CutPrefix(o.User, OrgOwner("")); ok {
			if err := r.orgOwner(pkg, org, o.Add); err != nil {
				return err
			}
			continue
		}
		u, err := r.tx.UserByName(r.ctx, o.User)
		if errors.Is(err, meta.ErrNotFound) {
			return r.fail("no user %s in the database (created after the backup?): create the account with `trove admin user add %s --email ADDRESS` and run the recovery again", o.User, o.User)
		}
		if err != nil {
			return err
		}
		owner, err := r.tx.IsOwner(r.ctx, pkg.ID, u.ID)
		switch {
		case err != nil:
			return err
		case o.Add && !owner:
			err = r.tx.AddOwner(r.ctx, pkg.ID, u.ID, r.ev.Time)
		case !o.Add && owner:
			err = r.tx.RemoveOwner(r.ctx, pkg.ID, u.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// orgOwner applies an owner line naming an organisation: the package
// moves to it (add) or out of it (remove).
func (r *replay) orgOwner(pkg *trove.Package, name string, add bool) error {
	if !add {
		return r.tx.MovePackage(r.ctx, pkg.ID, 0)
	}
	o, err := r.tx.OrgByName(r.ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return r.fail("no organisation %s in the database (created after the backup?): create it with trove org create and run the recovery again", name)
	}
	if err != nil {
		return err
	}
	return r.tx.MovePackage(r.ctx, pkg.ID, o.ID)
}

// change replays a record about an existing package.
func (r *replay) change() error {
	pkg, err := r.tx.Package(r.ctx, trove.Ecosystem(r.ev.Ecosystem), r.name)
	if errors.Is(err, meta.ErrNotFound) {
		return r.fail("the database has no such package: the records before this one were not all replayed")
	}
	if err != nil {
		return err
	}
	var rel *trove.Release
	if r.ev.Version != "" {
		if rel, err = r.release(pkg, r.ev.Version); err != nil {
			return err
		}
	}
	if err := r.state(rel); err != nil {
		return err
	}
	if r.ev.Kind == "access" {
		if err := r.tx.SetPackagePrivate(r.ctx, pkg.ID, deref(r.ev.Message) == "private"); err != nil {
			return err
		}
	}
	if err := r.owners(pkg); err != nil {
		return err
	}
	if err := r.tags(pkg); err != nil {
		return err
	}
	return r.appendRecord(pkg)
}

// state applies a record's change to its release.
func (r *replay) state(rel *trove.Release) error {
	ctx, tx, ev := r.ctx, r.tx, r.ev
	needRelease := ev.Kind == "yank" || ev.Kind == "unyank" || ev.Kind == "deprecate" || ev.Kind == "delete" || ev.Kind == "takedown" ||
		ev.Kind == "quarantine" || ev.Kind == "unquarantine"
	// A quarantined release is taken down or released; the others change
	// visible ones.
	suspendedOK := ev.Kind == "takedown" || ev.Kind == "unquarantine"
	switch {
	case needRelease && rel == nil:
		return r.fail("the record names no version")
	case needRelease && !rel.State.Visible() && !(suspendedOK && rel.State == trove.Suspended):
		return r.fail("release %s is %s in the database", rel.Version, rel.State)
	}
	switch ev.Kind {
	case "yank":
		if rel.State == trove.Published {
			if err := tx.SetReleaseState(ctx, rel.ID, trove.Published, trove.Yanked, ev.Time); err != nil {
				return err
			}
		}
		return tx.SetYankedReason(ctx, rel.ID, deref(ev.Reason))
	case "unyank":
		if rel.State != trove.Yanked {
			return r.fail("release %s is not yanked in the database", rel.Version)
		}
		if err := tx.SetReleaseState(ctx, rel.ID, trove.Yanked, trove.Published, ev.Time); err != nil {
			return err
		}
		return tx.SetYankedReason(ctx, rel.ID, "")
	case "deprecate":
		return tx.SetDeprecated(ctx, rel.ID, deref(ev.Message))
	case "delete":
		return tx.SetReleaseState(ctx, rel.ID, rel.State, trove.Deleted, ev.Time)
	case "quarantine":
		return tx.Quarantine(ctx, rel, deref(ev.Reason), "trove log recover", ev.Time)
	case "unquarantine":
		if rel.State != trove.Suspended {
			return r.fail("release %s is not quarantined in the database", rel.Version)
		}
		_, err := tx.Unquarantine(ctx, rel.ID)
		return err
	case "takedown":
		if err := tx.EndQuarantine(ctx, rel.ID); err != nil {
			return err
		}
		if err := tx.SetReleaseState(ctx, rel.ID, rel.State, trove.Deleted, ev.Time); err != nil {
			return err
		}
		// A takedown as malicious is an OSV advisory; its serial is
		// assigned again, in log order, as it was first.
		if summary, ok := strings.CutPrefix(deref(ev.Reason), takedownPrefix); ok {
			return tx.PutAdvisory(ctx, &meta.Advisory{Ecosystem: trove.Ecosystem(ev.Ecosystem), Name: trove.Name(ev.Name), Version: rel.Version,
				Summary: summary, Published: ev.Time, Modified: ev.Time})
		}
		return nil
	case "tag", "owner", "access":
		return nil
	}
	return r.fail("this version of trove cannot rebuild %q records; upgrade it, then recover", ev.Kind)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// publish replays a publish or proxy record, after the owner record of a new
// package when first is not nil.
func (r *replay) publish(first *replay) error {
	rb, ok := r.rules.(Rebuilder)
	if !ok {
		return r.fail("the %s ecosystem cannot rebuild releases (its rules have no Rebuilder)", r.ev.Ecosystem)
	}
	staged, err := r.stage()
	defer func() {
		for _, st := range staged {
			st.Close()
		}
	}()
	if err != nil {
		return err
	}
	up, err := rb.Rebuild(r.ev, staged)
	if err != nil {
		return r.fail("rebuilding the release from its files: %v", err)
	}
	if err := r.checkUpload(up); err != nil {
		return err
	}
	pkg, rel, err := r.target(up)
	if err != nil {
		return err
	}
	if first != nil {
		if err := first.owners(pkg); err != nil {
			return err
		}
		if err := first.appendRecord(pkg); err != nil {
			return err
		}
	}
	if err := r.files(pkg, rel, up, staged); err != nil {
		return err
	}
	if err := r.tags(pkg); err != nil {
		return err
	}
	return r.appendRecord(pkg)
}

// stage copies the record's files from the blob store to temporary
// files, checking each one's digest.
func (r *replay) stage() ([]*Staged, error) {
	var out []*Staged
	for _, f := range r.ev.Files {
		rc, err := r.s.blobs.Open(r.ctx, blob.Digest(f.SHA256), 0)
		if err != nil {
			return out, r.fail("file %s (sha256 %s) is not in the blob store: %v; restore it from a backup of the blob store", f.Name, f.SHA256, err)
		}
		st, err := r.s.Stage(rc, replayFileLimit)
		rc.Close()
		if err != nil {
			return out, err
		}
		out = append(out, st)
		if string(st.Digests.SHA256) != f.SHA256 {
			return out, r.fail("the blob of %s has sha256 %s, not %s: it is damaged", f.Name, st.Digests.SHA256, f.SHA256)
		}
	}
	return out, nil
}

// checkUpload checks that a rebuilt upload is the release of the record.
func (r *replay) checkUpload(up *Upload) error {
	_, name, key, err := r.s.parse(trove.Ecosystem(r.ev.Ecosystem), up.Name, up.Version)
	if err != nil {
		return r.fail("the rebuilt release: %v", err)
	}
	_, _, want, _ := r.s.parse(trove.Ecosystem(r.ev.Ecosystem), r.ev.Name, r.ev.Version)
	if name != r.name || key != want {
		return r.fail("its files are %s %s", up.Name, up.Version)
	}
	if len(up.Files) != len(r.ev.Files) {
		return r.fail("its files make %d files, the record lists %d", len(up.Files), len(r.ev.Files))
	}
	for i, f := range up.Files {
		if f.Filename != r.ev.Files[i].Name {
			return r.fail("file %d is %s, the record lists %s", i, f.Filename, r.ev.Files[i].Name)
		}
	}
	if !slices.Equal(up.Lines, r.ev.Lines) {
		return r.fail("the files make the lines %q, the record holds %q", up.Lines, r.ev.Lines)
	}
	return nil
}

// target returns the package and release a publish record adds files
// to, creating them as they were published. A release left quarantined
// in the restored database (a backup taken mid-publish) is discarded first.
func (r *replay) target(up *Upload) (*trove.Package, *trove.Release, error) {
	ctx, tx, eco := r.ctx, r.tx, trove.Ecosystem(r.ev.Ecosystem)
	_, _, key, _ := r.s.parse(eco, r.ev.Name, r.ev.Version)
	pkg, err := tx.Package(ctx, eco, r.name)
	if err == nil {
		rel, err := tx.Release(ctx, pkg.ID, key)
		if err == nil && rel.State == trove.Quarantined {
			if err := tx.DiscardQuarantined(ctx, rel.ID); err != nil {
				return nil, nil, err
			}
		}
		pkg, err = tx.Package(ctx, eco, r.name)
	}
	if errors.Is(err, meta.ErrNotFound) {
		pkg = &trove.Package{Ecosystem: eco, Name: r.name, DisplayName: up.Name, Skeleton: r.rules.Skeleton(r.name),
			Namespace: namespaceOf(r.rules, r.name).Key, CreatedAt: r.ev.Time, Upstream: r.ev.Upstream != nil,
			Private: r.ev.Salt != ""} // a private package's records are salted
		err = tx.InsertPackage(ctx, pkg)
	}
	if err != nil {
		return nil, nil, err
	}
	rel, err := tx.Release(ctx, pkg.ID, key)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		rel = &trove.Release{PackageID: pkg.ID, Version: r.ev.Version, VersionKey: key, State: trove.Published,
			Metadata: up.Metadata, CreatedAt: r.ev.Time, PublishedAt: r.ev.Time}
		if r.ev.Upstream != nil {
			rel.Source = r.ev.Upstream.Name
		}
		if err := tx.InsertRelease(ctx, rel); err != nil {
			return nil, nil, err
		}
		return pkg, rel, tx.InsertDependencies(ctx, rel.ID, eco, dependencies(r.rules, up.Dependencies))
	case err != nil:
		return nil, nil, err
	case !rel.State.Visible():
		return nil, nil, r.fail("release %s is %s in the database", rel.Version, rel.State)
	}
	return pkg, rel, nil
}

// files records the release's new files, visible, and stores the
// metadata extracted from them.
func (r *replay) files(pkg *trove.Package, rel *trove.Release, up *Upload, staged []*Staged) error {
	for i, f := range up.Files {
		d := staged[i].Digests
		mf := &trove.File{ReleaseID: rel.ID, PackageID: pkg.ID, Filename: f.Filename, Kind: f.Kind, State: rel.State,
			Size: d.Size, SHA256: string(d.SHA256), SHA512: d.SHA512, SHA1: d.SHA1, Blake2b256: d.Blake2b256, MD5: d.MD5,
			Attrs: f.Attrs, CreatedAt: r.ev.Time}
		if f.Metadata != nil {
			mf.MetadataSHA256 = string(blob.Sum(f.Metadata))
			if !r.dry {
				if err := blob.Put(r.ctx, r.s.blobs, bytes.NewReader(f.Metadata), blob.Sum(f.Metadata)); err != nil {
					return fmt.Errorf("storing metadata of %s: %w", f.Filename, err)
				}
			}
		}
		if err := r.tx.InsertFile(r.ctx, mf); errors.Is(err, meta.ErrConflict) {
			return r.fail("the database already has a file %s", f.Filename)
		} else if err != nil {
			return err
		}
	}
	return nil
}
