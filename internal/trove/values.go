package trove

import "time"

// A State is where a release, or one of its files, is in its life.
//
//	upload ──► Quarantined ──scan: publish──► Published ◄──unyank── Yanked
//	               │                              │ └────yank──────►  │
//	               └─scan: reject──► (discarded)  └──delete──► Deleted ◄┘
//
// An administrator's quarantine takes a Published or Yanked release out
// of view as Suspended, and its release puts it back in the state it was
// in; a takedown makes a Suspended release Deleted.
type State string

// The states. Only Published and Yanked are visible to readers.
const (
	Quarantined State = "quarantined"
	Published   State = "published"
	Yanked      State = "yanked"
	Deleted     State = "deleted"
	// Suspended is a release that was visible and is quarantined by an
	// administrator (registry.Quarantine): invisible on every read path,
	// its version and filenames taken, until it is released or taken down.
	Suspended State = "suspended"
)

// Visible reports whether a release or file in state s is visible to readers.
func (s State) Visible() bool { return s == Published || s == Yanked }

// A Package is a name in one ecosystem.
type Package struct {
	ID          int64
	Ecosystem   Ecosystem
	Name        Name   // normalized
	DisplayName string // as first published
	Skeleton    string // look-alike key; "" when the ecosystem has none
	Namespace   string // the namespace the name is in; "" for none
	CreatedAt   time.Time
	LastSerial  int64 // id of the newest change to the package
	// Upstream is true for a package whose releases were imported from
	// upstream registries; a name is local or upstream, never both.
	Upstream bool
	// OrgID is the organisation the package belongs to; 0 for none.
	OrgID int64
	// Private packages are read only by those holding a role on them.
	Private bool
}

// An Org is an organisation: users (members, in teams) who own packages
// and namespaces together.
type Org struct {
	ID        int64
	Name      string // lower case; one space with user names
	CreatedAt time.Time
	// PrivateDefault makes the organisation's new packages private.
	PrivateDefault bool
}

// A Grant is a role (owner, maintainer, reader) held by a user or a team.
type Grant struct {
	Name string // the user's or the team's name
	Role string
}

// A Team is a group of an organisation's members with roles on some of
// its packages.
type Team struct {
	ID        int64
	OrgID     int64
	Name      string
	CreatedAt time.Time
}

// An Invitation asks a user to join an organisation with a role.
type Invitation struct {
	Org       string
	User      string
	Role      string
	InvitedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// A Release is one version of a package.
type Release struct {
	ID           int64
	PackageID    int64
	Version      string // as published
	VersionKey   string // canonical form; unique per package
	State        State
	Metadata     []byte // JSON owned by the ecosystem adapter
	PublisherID  int64
	CreatedAt    time.Time
	PublishedAt  time.Time
	YankedReason string
	Deprecated   string
	DeletedAt    time.Time
	// Source is the upstream the release was imported from ("" for a
	// release published here).
	Source string
	// AuthLevel is the level of the token that published the release
	// (AuthNone for releases imported from upstreams or published before
	// levels were recorded).
	AuthLevel AuthLevel
	// TokenID is the API token the release was published with (0 for
	// another credential, or a release published before tokens were
	// recorded).
	TokenID int64
}

// A File is one artifact of a release, stored as a blob named by SHA256.
type File struct {
	ID             int64
	ReleaseID      int64
	PackageID      int64
	Filename       string
	Kind           string
	State          State
	Size           int64
	SHA256         string
	SHA512         string
	SHA1           string
	Blake2b256     string
	MD5            string
	MetadataSHA256 string // blob of metadata extracted from the file, if any
	Attrs          []byte // JSON owned by the ecosystem adapter
	CreatedAt      time.Time
	// Private is set by registry.File on a file of a private package (it
	// is not stored): downloads of it are not cacheable by shared caches.
	Private bool
}

// A Tag points a named tag of a package (npm's dist-tags: latest, next)
// at one of its releases.
type Tag struct {
	Tag       string
	ReleaseID int64
	Version   string
}

// A User is an account. Its password hash is not part of it: only the
// account package reads that.
type User struct {
	ID    int64
	Name  string // lowercase
	Email string
	Admin bool
	// PublicEmail is the user's choice to show Email beside their name in
	// public metadata; without it only the name is public.
	PublicEmail bool
	CreatedAt   time.Time
	// DisabledAt is when an administrator disabled the account (zero:
	// enabled). A disabled account cannot sign in, and its tokens and
	// sessions do not work.
	DisabledAt time.Time
	// PasswordReset means an administrator asked for a new password: the
	// next sign-in must change it before anything else.
	PasswordReset bool
	// DeletedAt is when an administrator deleted the account (zero: it
	// was not). A deleted account is a tombstone: its name stays taken
	// and is shown as the publisher of its releases, and nothing else of
	// it is kept (no email, password, factor, token or session).
	DeletedAt time.Time
}

// Disabled reports whether an administrator disabled the account.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Deleted reports whether an administrator deleted the account.
func (u *User) Deleted() bool { return !u.DeletedAt.IsZero() }

// A Token is a stored API token. The secret itself is never stored: Hash
// is the hex SHA-256 of the whole token string.
type Token struct {
	ID          int64
	PublicID    string
	Hash        string
	UserID      int64
	Description string
	Packages    []string // package patterns the token may act on
	Actions     []string // actions it may take
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	LastUsedAt  time.Time // zero: never used
	RevokedAt   time.Time // zero: not revoked
	// AuthLevel is how strongly the creator had authenticated when the
	// token was minted; policies compare it with what a package needs.
	AuthLevel AuthLevel
	// PublisherID is the trusted publisher that minted the token (0: a
	// person made it).
	PublisherID int64
	// CIDRs are the client address prefixes (netip.Prefix text) the token
	// may be presented from; empty: any address.
	CIDRs []string
}

// A LogEntry is a transparency log record indexed under a package version:
// its index in the log and its kind (publish, yank, …).
type LogEntry struct {
	ID   int64
	Kind string
}
