package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// DefaultUnpublishWindow is how long after publication the owners of a
// package may delete a version themselves (npm's policy, too). Later only
// an administrator can, and owners deprecate or yank instead. Config
// UnpublishWindow overrides it.
const DefaultUnpublishWindow = 72 * time.Hour

// Limits on the free text that changes write into the transparency log.
// Longer text is ErrInvalid, before anything is changed.
const (
	// MaxReasonLen bounds a yank or deletion reason, in bytes.
	MaxReasonLen = 1024
	// MaxMessageLen bounds a deprecation message, in bytes (npm's limit).
	MaxMessageLen = 4096
	// MaxTagLen bounds a tag name, in bytes.
	MaxTagLen = 128
)

// A Change is one part of a change to the public state of a package, made
// by Apply. The changes are the types Yank, Unyank, Deprecate, SetTag,
// RemoveTag, Delete, AddOwner, RemoveOwner, Grant, TeamGrant and Transfer
// of this package.
type Change interface {
	// describe returns the change's kind of log record, the action it
	// needs, and the version it is about ("" for the package).
	describe() (kind string, a access.Action, version string)
	// check validates the change's own fields; nothing is read yet.
	check() error
	// apply makes the change within b's transaction and adds what it
	// changed to ev. It returns errNoChange if there is nothing to do.
	apply(b *batch, rel *trove.Release, ev *translog.Event) error
}

// errNoChange is returned by a change that found nothing to do.
var errNoChange = errors.New("no change")

// errUnlogged is returned by a change that changed something that is no
// public record (a maintainer's or a team's role): it is kept, and nothing
// is logged.
var errUnlogged = errors.New("changed, not logged")

// A batch is the state of one Apply inside its transaction.
type batch struct {
	ctx   context.Context
	s     *Service
	tx    *meta.Tx
	who   *access.Principal
	pkg   *trove.Package
	rules Rules
	at    time.Time
}

// Apply makes the changes to the package (ecosystem, name) as one
// transaction: all of them or none. Each change that changes something
// appends its own record to the transparency log; the log is signed once,
// after the commit. Changes see the effect of the ones before them.
//
// Before anything is read, every change's fields are checked (ErrInvalid);
// then a package without a visible release is ErrNotFound, whoever asks,
// and who must be allowed every action the changes need (access errors).
// While the transparency log is read-only every change is ErrUnavailable.
func (s *Service) Apply(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, changes ...Change) error {
	if err := s.writable(); err != nil {
		return err
	}
	rules, n, _, err := s.parse(eco, name, "")
	if err != nil {
		return err
	}
	ctx = as(ctx, who)
	s.note(ctx, eco, string(n), "")
	if len(changes) == 0 {
		return trove.Error(trove.ErrInvalid, "no change to make to %s", name)
	}
	for _, c := range changes {
		if err := c.check(); err != nil {
			return err
		}
	}
	pkg, err := s.visiblePackage(ctx, eco, n, name, true)
	if err != nil {
		return err
	}
	for _, a := range actions(changes) {
		if err := s.authorize(ctx, who, a, eco, n, pkg); err != nil {
			return err
		}
	}
	logged := false
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		logged = false
		if err := s.recheck(ctx, tx, who, pkg, actions(changes)...); err != nil {
			return err
		}
		b := &batch{ctx: ctx, s: s, tx: tx, who: who, pkg: pkg, rules: rules, at: now(s)}
		for _, c := range changes {
			ok, err := b.apply(c)
			if err != nil {
				return err
			}
			logged = logged || ok
		}
		return nil
	})
	if err != nil || !logged {
		return err
	}
	s.changed(eco, n)
	return s.sign(context.WithoutCancel(ctx))
}

// actions returns the distinct actions the changes need, in order.
func actions(changes []Change) []access.Action {
	var out []access.Action
	seen := make(map[access.Action]bool)
	for _, c := range changes {
		if _, a, _ := c.describe(); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// apply makes one change and logs it; it reports whether it changed anything.
func (b *batch) apply(c Change) (bool, error) {
	kind, _, version := c.describe()
	var rel *trove.Release
	if version != "" {
		var err error
		_, suspended := c.(suspendedChange)
		if rel, err = b.release(version, suspended); err != nil {
			return false, err
		}
	}
	ev := &translog.Event{Kind: kind, Ecosystem: string(b.pkg.Ecosystem), Name: string(b.pkg.Name), Time: b.at}
	if rel != nil {
		ev.Version = rel.Version
	}
	err := c.apply(b, rel, ev)
	if errors.Is(err, errNoChange) || errors.Is(err, errUnlogged) || err == nil && kind == "owner" && len(ev.Owners) == 0 {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := appendEvent(b.ctx, b.tx, ev); err != nil {
		return false, err
	}
	_, err = b.tx.AddChange(b.ctx, b.pkg, kind, b.at)
	return err == nil, err
}

// A suspendedChange is a change that may name a quarantined release as
// well as a visible one (an administrator's release or takedown).
type suspendedChange interface{ suspendedOK() }

// release returns the visible release of the batch's package with the
// version, or a quarantined one too when suspended is set.
func (b *batch) release(version string, suspended bool) (*trove.Release, error) {
	key, err := b.rules.VersionKey(version)
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "%w", err)
	}
	rel, err := b.tx.Release(b.ctx, b.pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) || err == nil && !rel.State.Visible() && !(suspended && rel.State == trove.Suspended) {
		return nil, trove.Error(trove.ErrNotFound, "version %s of %s not found", version, b.pkg.DisplayName)
	}
	return rel, err
}

// checkText refuses free text for the log that is too long or not UTF-8.
func checkText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return trove.Error(trove.ErrInvalid, "the %s is %d bytes long; the limit is %d", what, len(s), max)
	case !utf8.ValidString(s):
		return trove.Error(trove.ErrInvalid, "the %s is not valid UTF-8", what)
	}
	return nil
}

// checkTagName refuses a tag name the log cannot hold: empty, too long, or
// with spaces or control characters. Ecosystems may be stricter.
func checkTagName(tag string) error {
	if tag == "" || len(tag) > MaxTagLen || !utf8.ValidString(tag) {
		return trove.Error(trove.ErrInvalid, "invalid tag %q: a tag is 1 to %d bytes of UTF-8", tag, MaxTagLen)
	}
	for _, r := range tag {
		if r <= ' ' || r == 0x7f {
			return trove.Error(trove.ErrInvalid, "invalid tag %q: a tag has no spaces or control characters", tag)
		}
	}
	return nil
}

func versionNeeded(kind, version string) error {
	if version == "" {
		return trove.Error(trove.ErrInvalid, "%s needs a version", kind)
	}
	return nil
}

// A Yank hides a release from version resolution (it stays installable
// when pinned exactly) and records why. Yanking a yanked release updates
// the reason. A tag pointing at the release moves (see [Tagger]).
type Yank struct{ Version, Reason string }

func (c Yank) describe() (string, access.Action, string) { return "yank", access.Yank, c.Version }

func (c Yank) check() error {
	if err := versionNeeded("yanking", c.Version); err != nil {
		return err
	}
	return checkText("yank reason", c.Reason, MaxReasonLen)
}

func (c Yank) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	ev.Reason = &c.Reason
	if rel.State == trove.Published {
		if err := b.tx.SetReleaseState(b.ctx, rel.ID, trove.Published, trove.Yanked, time.Time{}); err != nil {
			return err
		}
	}
	if err := b.tx.SetYankedReason(b.ctx, rel.ID, c.Reason); err != nil {
		return err
	}
	return b.retag(ev)
}

// An Unyank makes a yanked release resolvable again.
type Unyank struct{ Version string }

func (c Unyank) describe() (string, access.Action, string) { return "unyank", access.Yank, c.Version }
func (c Unyank) check() error                              { return versionNeeded("unyanking", c.Version) }

func (c Unyank) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if rel.State != trove.Yanked {
		return trove.Error(trove.ErrInvalid, "version %s of %s is not yanked", rel.Version, b.pkg.DisplayName)
	}
	if err := b.tx.SetReleaseState(b.ctx, rel.ID, trove.Yanked, trove.Published, time.Time{}); err != nil {
		return err
	}
	if err := b.tx.SetYankedReason(b.ctx, rel.ID, ""); err != nil {
		return err
	}
	return b.retag(ev)
}

// A Deprecate sets a release's deprecation message; "" removes it.
type Deprecate struct{ Version, Message string }

func (c Deprecate) describe() (string, access.Action, string) {
	return "deprecate", access.Yank, c.Version
}

func (c Deprecate) check() error {
	if err := versionNeeded("deprecating", c.Version); err != nil {
		return err
	}
	return checkText("deprecation message", c.Message, MaxMessageLen)
}

func (c Deprecate) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if rel.Deprecated == c.Message {
		return errNoChange
	}
	ev.Message = &c.Message
	return b.tx.SetDeprecated(b.ctx, rel.ID, c.Message)
}

// A SetTag points a tag of the package at one of its published releases;
// a yanked release cannot be tagged.
type SetTag struct{ Tag, Version string }

func (c SetTag) describe() (string, access.Action, string) {
	return "tag", access.PublishUpdate, c.Version
}

func (c SetTag) check() error {
	if err := versionNeeded("a tag", c.Version); err != nil {
		return err
	}
	return checkTagName(c.Tag)
}

func (c SetTag) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if rel.State != trove.Published {
		return trove.Error(trove.ErrInvalid, "%s %s is yanked: a tag cannot point at a yanked version", b.pkg.DisplayName, rel.Version)
	}
	ev.Version = ""
	ev.Tags = []translog.TagChange{{Tag: c.Tag, Version: rel.Version}}
	return b.tx.SetDistTag(b.ctx, b.pkg.ID, c.Tag, rel.ID)
}

// A RemoveTag removes a tag of the package.
type RemoveTag struct{ Tag string }

func (c RemoveTag) describe() (string, access.Action, string) {
	return "tag", access.PublishUpdate, ""
}
func (c RemoveTag) check() error { return checkTagName(c.Tag) }

func (c RemoveTag) apply(b *batch, _ *trove.Release, ev *translog.Event) error {
	err := b.tx.DeleteDistTag(b.ctx, b.pkg.ID, c.Tag)
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%s has no dist-tag %q", b.pkg.DisplayName, c.Tag)
	}
	ev.Tags = []translog.TagChange{{Tag: c.Tag}}
	return err
}

// A Delete turns a release into a tombstone: it disappears from every
// read path, its version and filenames stay taken forever, and tags that
// pointed at it are removed (see [Tagger] for latest). Owners may delete
// within the unpublish window after publication, and only releases no
// other package depends on (see [Constrainer]); administrators may delete
// any release, giving a reason when others depend on it.
type Delete struct{ Version, Reason string }

func (c Delete) describe() (string, access.Action, string) { return "delete", access.Yank, c.Version }

func (c Delete) check() error {
	if err := versionNeeded("deleting", c.Version); err != nil {
		return err
	}
	return checkText("deletion reason", c.Reason, MaxReasonLen)
}

func (c Delete) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if err := b.mayDelete(rel, c.Reason); err != nil {
		return err
	}
	if c.Reason != "" {
		ev.Reason = &c.Reason
	}
	return b.tombstone(rel, ev)
}

// tombstone turns a visible release into a tombstone, removing the tags
// that pointed at it (a delete, a takedown).
func (b *batch) tombstone(rel *trove.Release, ev *translog.Event) error {
	tags, err := b.tx.DistTags(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if tag.ReleaseID == rel.ID {
			if err := b.tx.DeleteDistTag(b.ctx, b.pkg.ID, tag.Tag); err != nil {
				return err
			}
			ev.Tags = append(ev.Tags, translog.TagChange{Tag: tag.Tag})
		}
	}
	if err := b.tx.SetReleaseState(b.ctx, rel.ID, rel.State, trove.Deleted, b.at); err != nil {
		return err
	}
	return b.retag(ev)
}

// dependentsShown is how many dependents a refused deletion names, and
// maxDependents how many dependencies on a package are looked at.
const (
	dependentsShown = 3
	maxDependents   = 100_000
)

// A Constrainer is the optional part of an ecosystem's Rules that reads
// the version constraints of dependencies. Without it, or when it cannot
// read a constraint, every dependent counts as depending on every version.
type Constrainer interface {
	// Satisfies reports whether version meets the constraint, as the
	// ecosystem's installers would resolve it.
	Satisfies(version, constraint string) (bool, error)
}

// dependents returns the names of other packages whose visible releases
// depend on the release (up to dependentsShown, then "…").
func (b *batch) dependents(rel *trove.Release) ([]string, error) {
	deps, err := b.tx.Dependents(b.ctx, b.pkg.Ecosystem, b.pkg.Name, maxDependents)
	if err != nil {
		return nil, err
	}
	c, _ := b.rules.(Constrainer)
	var out []string
	for _, d := range deps {
		if c != nil {
			if ok, err := c.Satisfies(rel.Version, d.Constraint); err == nil && !ok {
				continue
			}
		}
		if len(out) > 0 && out[len(out)-1] == d.DisplayName {
			continue
		}
		if len(out) == dependentsShown {
			return append(out, "…"), nil
		}
		out = append(out, d.DisplayName)
	}
	return out, nil
}

// mayDelete applies the unpublish policy to a release.
func (b *batch) mayDelete(rel *trove.Release, reason string) error {
	window := b.s.unpublishWindow
	if !b.who.Admin && b.at.Sub(rel.PublishedAt) > window {
		return trove.Error(access.ErrDenied, "%s %s was published more than %s ago and can no longer be deleted by its owners: deprecate it instead, or ask an administrator",
			b.pkg.DisplayName, rel.Version, window)
	}
	dependents, err := b.dependents(rel)
	if err != nil || len(dependents) == 0 {
		return err
	}
	names := strings.Join(dependents, ", ")
	switch {
	case !b.who.Admin:
		return trove.Error(access.ErrDenied, "%s %s is a dependency of other packages (%s); it can no longer be deleted by its owners: deprecate it instead, or ask an administrator",
			b.pkg.DisplayName, rel.Version, names)
	case reason == "":
		return trove.Error(trove.ErrInvalid, "%s %s is a dependency of other packages (%s): give a reason for deleting it, which goes into the transparency log",
			b.pkg.DisplayName, rel.Version, names)
	}
	return nil
}

// An AddOwner makes a user an owner of the package. Adding an existing
// owner changes nothing, logs nothing and is not an error.
type AddOwner struct{ User string }

func (c AddOwner) describe() (string, access.Action, string) { return "owner", access.Owners, "" }
func (c AddOwner) check() error                              { return userNeeded(c.User) }

func (c AddOwner) apply(b *batch, _ *trove.Release, ev *translog.Event) error {
	u, err := b.user(c.User)
	if err != nil {
		return err
	}
	owner, err := b.tx.IsOwner(b.ctx, b.pkg.ID, u.ID)
	if err != nil {
		return err
	}
	if owner {
		return errNoChange
	}
	grants, err := b.tx.Grants(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	if len(grants) >= MaxGrantsPerPackage && !slices.ContainsFunc(grants, func(g trove.Grant) bool { return g.Name == u.Name }) {
		return b.tooManyGrants(len(grants))
	}
	ev.Owners = []translog.OwnerChange{{Add: true, User: u.Name}}
	return b.tx.AddOwner(b.ctx, b.pkg.ID, u.ID, ev.Time)
}

// tooManyGrants refuses one more person with a role of their own on the
// batch's package, which has n.
func (b *batch) tooManyGrants(n int) error {
	return trove.Error(trove.ErrInvalid, "%s has %d people with roles of their own, the most a package may have: grant roles to a team of its organisation instead, or remove some",
		b.pkg.DisplayName, n)
}

// A RemoveOwner removes a user from the package's owners. Removing a user
// who is not an owner changes nothing, logs nothing and is not an error;
// removing the last owner is ErrInvalid (except for the deletion of the
// account, see [Service.Disown]).
type RemoveOwner struct {
	User string
	// leaveOwnerless lets the last owner go: only Disown sets it.
	leaveOwnerless bool
}

func (c RemoveOwner) describe() (string, access.Action, string) { return "owner", access.Owners, "" }
func (c RemoveOwner) check() error                              { return userNeeded(c.User) }

func (c RemoveOwner) apply(b *batch, _ *trove.Release, ev *translog.Event) error {
	u, err := b.user(c.User)
	if err != nil {
		return err
	}
	owners, err := b.tx.Owners(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	found := false
	for _, o := range owners {
		found = found || o.ID == u.ID
	}
	// The package's organisation as it is now, under the package's lock
	// (a transfer may have committed since b.pkg was read).
	pkg, err := b.tx.Package(b.ctx, b.pkg.Ecosystem, b.pkg.Name)
	if err != nil {
		return err
	}
	switch {
	case !found:
		return errNoChange
	case len(owners) == 1 && !c.leaveOwnerless && pkg.OrgID == 0:
		// A package of an organisation keeps the organisation's owners,
		// of whom there is always one (see Orgs).
		return trove.Error(trove.ErrInvalid, "%s is the only owner of %s: a package keeps at least one owner; add another owner first", u.Name, b.pkg.DisplayName)
	}
	ev.Owners = []translog.OwnerChange{{User: u.Name}}
	return b.tx.RemoveOwner(b.ctx, b.pkg.ID, u.ID)
}

func userNeeded(name string) error {
	if name == "" {
		return trove.Error(trove.ErrInvalid, "an owner change needs a user name")
	}
	return nil
}

// user returns the user named in an owner change. A deleted account
// cannot become an owner (nor be removed: it owns nothing).
func (b *batch) user(name string) (*trove.User, error) {
	u, err := b.tx.UserByName(b.ctx, strings.ToLower(strings.TrimSpace(name)))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "no user %s", name)
	}
	if err == nil && u.Deleted() {
		return nil, trove.Error(trove.ErrInvalid, "the account %s was deleted: a deleted account cannot own packages", u.Name)
	}
	return u, err
}

// A Tagger is the optional part of an ecosystem's Rules for ecosystems
// whose clients resolve a "latest" tag (npm's dist-tags). For them the core
// keeps LatestTag on a published release: yanking or deleting the release
// it points at moves it to Latest of the published releases left (or
// removes it when none is left), and a yanked release cannot be tagged.
type Tagger interface {
	// Latest returns which of versions, those of the package's published
	// (not yanked) releases, LatestTag should point at; "" for none.
	Latest(versions []string) string
}

// LatestTag is the tag a Tagger's ecosystem resolves by default.
const LatestTag = "latest"

// retag keeps LatestTag on a published release after a change, recording
// any move in ev.
func (b *batch) retag(ev *translog.Event) error {
	t, ok := b.rules.(Tagger)
	if !ok {
		return nil
	}
	rels, err := b.tx.Releases(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	tags, err := b.tx.DistTags(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	var current *trove.Tag
	for i := range tags {
		if tags[i].Tag == LatestTag {
			current = &tags[i]
		}
	}
	var versions []string
	byVersion := make(map[string]*trove.Release)
	for _, r := range rels {
		if r.State != trove.Published {
			continue
		}
		if current != nil && r.ID == current.ReleaseID {
			return nil // latest is on a published release: leave it there
		}
		versions = append(versions, r.Version)
		byVersion[r.Version] = r
	}
	best := byVersion[t.Latest(versions)]
	switch {
	case best != nil:
		ev.Tags = append(ev.Tags, translog.TagChange{Tag: LatestTag, Version: best.Version})
		return b.tx.SetDistTag(b.ctx, b.pkg.ID, LatestTag, best.ID)
	case current != nil:
		ev.Tags = append(ev.Tags, translog.TagChange{Tag: LatestTag})
		return b.tx.DeleteDistTag(b.ctx, b.pkg.ID, LatestTag)
	}
	return nil
}

// OrgOwner is how the transparency log names an organisation that owns a
// package, in owner lines ("owner add org:acme"): user names have no ':'.
func OrgOwner(org string) string { return "org:" + org }

// A Grant gives a user a role on the package (owner, maintainer or reader;
// "none" removes their grant). Owner grants, and the loss of one, are
// owner changes, logged as AddOwner and RemoveOwner are, under the same
// last-owner rule; the other roles are not public records.
type Grant struct{ User, Role string }

func (c Grant) describe() (string, access.Action, string) { return "owner", access.Owners, "" }

func (c Grant) check() error {
	if err := userNeeded(c.User); err != nil {
		return err
	}
	if c.Role == "none" {
		return nil
	}
	if _, err := access.ParseRole(c.Role); err != nil {
		return trove.Error(trove.ErrInvalid, "%v, or none to remove the grant", err)
	}
	return nil
}

func (c Grant) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	role := access.NoRole
	if c.Role != "none" {
		role, _ = access.ParseRole(c.Role)
	}
	u, err := b.user(c.User)
	if err != nil {
		return err
	}
	grants, err := b.tx.Grants(b.ctx, b.pkg.ID)
	if err != nil {
		return err
	}
	cur := access.NoRole
	for _, g := range grants {
		if g.Name == u.Name {
			cur, _ = access.ParseRole(g.Role)
		}
	}
	switch {
	case cur == role:
		return errNoChange
	case cur == access.NoRole && len(grants) >= MaxGrantsPerPackage:
		return b.tooManyGrants(len(grants))
	case role == access.Owner:
		if err := (AddOwner{User: u.Name}).apply(b, rel, ev); err != nil {
			return err
		}
	case cur == access.Owner:
		if err := (RemoveOwner{User: u.Name}).apply(b, rel, ev); err != nil {
			return err
		}
	}
	if role == access.NoRole {
		err := b.tx.RemoveRole(b.ctx, b.pkg.ID, u.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		return err
	}
	return b.tx.SetRole(b.ctx, b.pkg.ID, u.ID, role.String(), b.at)
}

// MaxGrantsPerPackage bounds the people holding a role of their own on a
// package (teams hold roles for groups), so that its owners' review and
// its pages stay bounded. A variable for tests only.
var MaxGrantsPerPackage = 1000

// A TeamGrant gives a team of the package's organisation a role on the
// package ("none" removes it). A package that belongs to no organisation
// has no teams. Team grants are not public records.
type TeamGrant struct{ Team, Role string }

func (c TeamGrant) describe() (string, access.Action, string) { return "owner", access.Owners, "" }

func (c TeamGrant) check() error {
	if strings.TrimSpace(c.Team) == "" {
		return trove.Error(trove.ErrInvalid, "a team grant needs a team name")
	}
	if c.Role == "none" {
		return nil
	}
	if _, err := access.ParseRole(c.Role); err != nil {
		return trove.Error(trove.ErrInvalid, "%v, or none to remove the grant", err)
	}
	return nil
}

func (c TeamGrant) apply(b *batch, _ *trove.Release, _ *translog.Event) error {
	pkg, err := b.tx.Package(b.ctx, b.pkg.Ecosystem, b.pkg.Name)
	if err != nil {
		return err
	}
	if pkg.OrgID == 0 {
		return trove.Error(trove.ErrInvalid, "%s belongs to no organisation, so no team can be granted a role on it: transfer it to one first", b.pkg.DisplayName)
	}
	o, err := b.tx.OrgByID(b.ctx, pkg.OrgID)
	if err != nil {
		return err
	}
	t, err := orgTeam(b.ctx, b.tx, o, c.Team)
	if err != nil {
		return err
	}
	if c.Role == "none" {
		err := b.tx.RemoveTeamGrant(b.ctx, t.ID, pkg.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return errNoChange
		}
		return unlogged(err)
	}
	return unlogged(b.tx.SetTeamGrant(b.ctx, t.ID, pkg.ID, c.Role, b.at))
}

// unlogged turns the success of a change that is no public record into
// errUnlogged.
func unlogged(err error) error {
	if err == nil {
		return errUnlogged
	}
	return err
}

// A Transfer moves the package to an organisation (Org) or out of its
// organisation to a user (User), and recomputes its grants: every grant
// to users and teams goes; a package moved to an organisation is held by
// its members' roles, one moved to a user has that user as its only
// owner. Who transfers must own the package and, for a move to an
// organisation, own that organisation too; a move to a user is to who
// themselves (others join a package by being added as owners), except for
// administrators. It is logged as owner changes: the owners that go, and
// the one that comes ("org:NAME" for an organisation).
type Transfer struct{ Org, User string }

func (c Transfer) describe() (string, access.Action, string) { return "owner", access.Owners, "" }

func (c Transfer) check() error {
	if (c.Org == "") == (c.User == "") {
		return trove.Error(trove.ErrInvalid, "a transfer names either an organisation or a user to move the package to")
	}
	return nil
}

func (c Transfer) apply(b *batch, _ *trove.Release, ev *translog.Event) error {
	pkg, err := b.tx.Package(b.ctx, b.pkg.Ecosystem, b.pkg.Name)
	if err != nil {
		return err
	}
	var from, to *trove.Org
	if pkg.OrgID != 0 {
		if from, err = b.tx.OrgByID(b.ctx, pkg.OrgID); err != nil {
			return err
		}
	}
	var heir *trove.User
	if c.Org != "" {
		if to, err = b.s.transferTarget(b.ctx, b.tx, b.who, c.Org); err != nil {
			return err
		}
		if from != nil && from.ID == to.ID {
			return errNoChange
		}
	} else {
		if heir, err = b.user(c.User); err != nil {
			return err
		}
		if from == nil {
			return trove.Error(trove.ErrInvalid, "%s belongs to no organisation: add %s as an owner instead (trove owner add)", b.pkg.DisplayName, heir.Name)
		}
		if b.who != nil && !b.who.Admin && heir.ID != b.who.UserID {
			return trove.Error(access.ErrDenied, "a package moves out of an organisation to the user who moves it; %s can then add %s as an owner", b.who.UserName, heir.Name)
		}
	}
	owners, err := b.tx.Owners(b.ctx, pkg.ID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if heir == nil || o.ID != heir.ID {
			ev.Owners = append(ev.Owners, translog.OwnerChange{User: o.Name})
		}
	}
	if from != nil {
		ev.Owners = append(ev.Owners, translog.OwnerChange{User: OrgOwner(from.Name)})
	}
	toID := int64(0)
	if to != nil {
		toID = to.ID
		ev.Owners = append(ev.Owners, translog.OwnerChange{Add: true, User: OrgOwner(to.Name)})
	}
	if err := b.tx.SetPackageOrg(b.ctx, pkg.ID, toID); err != nil {
		return err
	}
	if heir == nil {
		return nil
	}
	if !slices.ContainsFunc(owners, func(u *trove.User) bool { return u.ID == heir.ID }) {
		ev.Owners = append(ev.Owners, translog.OwnerChange{Add: true, User: heir.Name})
	}
	return b.tx.AddOwner(b.ctx, pkg.ID, heir.ID, b.at)
}

// transferTarget returns the organisation a package moves to, which who
// must own (or be an administrator).
func (s *Service) transferTarget(ctx context.Context, tx *meta.Tx, who *access.Principal, name string) (*trove.Org, error) {
	o, role, err := s.org(ctx, tx, who, name)
	if err != nil {
		return nil, err
	}
	if who == nil || role != access.Owner && !who.Admin {
		return nil, trove.Error(access.ErrDenied, "only owners of the organisation %s may move packages to it", o.Name)
	}
	return o, nil
}
