// Package backup writes and restores Trove backups: a consistent snapshot
// of the metadata database, the transparency log's signed state, and a
// manifest of the blobs the database references.
//
// # Format
//
// A backup is a zip archive (streamed: nothing is spooled to disk, and
// memory does not grow with the database):
//
//	tables/<table>.jsonl   one per table, in meta's engine-neutral dump format
//	blobs.jsonl            one line per blob: digest, size, the files that reference it
//	log/verifier.key       the log's public key (note verifier format)
//	log/checkpoint         the newest signed checkpoint the snapshot's log extends
//	log/signer.key         the log's private key, only when asked for
//	manifest.json          written last: format and schema version, creation
//	                       time, row counts, and the size and SHA-256 of every part
//
// Every table is read in one snapshot transaction ([meta.DB.Snapshot]), so
// all of them agree, while the server goes on serving and publishing. A
// backup made on SQLite restores into PostgreSQL and back.
//
// # What a backup does not hold
//
// Blob bytes. Blobs are immutable and content-addressed, so a copy of the
// blob store taken after the backup finished holds every blob the backup
// references; blobs.jsonl says which. Restore checks that they are there.
//
// # Security invariants
//
//   - A restore loads only into an empty database, checks every part's
//     SHA-256 and row count, recomputes every stored hash of the log from
//     its records, and checks the tree against the checkpoint the backup
//     holds, verified with the log's key. It never signs anything.
//   - A restore refuses a backup whose log forks from a checkpoint the
//     target already trusts (its blob store's state object "checkpoint",
//     or the data directory's), and reports one that is newer than the
//     backup: the server must not sign a shorter log until the missing
//     records are recovered (trove log recover).
//   - The signing key is left out unless the caller asks for it.
package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format is the version of the archive layout this package writes and reads.
const Format = 1

// Names of the parts of an archive.
const (
	manifestName   = "manifest.json"
	blobsName      = "blobs.jsonl"
	verifierName   = "log/verifier.key"
	checkpointName = "log/checkpoint"
	signerName     = "log/signer.key"
	tablePrefix    = "tables/"
	tableSuffix    = ".jsonl"
)

// Limits on what a restore reads into memory.
const (
	MaxManifestBytes = 1 << 20
	maxSmallPart     = 64 << 10 // keys and checkpoints
)

// ErrInvalid reports an archive that is not a well-formed backup, or that
// does not match its manifest.
var ErrInvalid = errors.New("not a valid trove backup")

// A Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	Schema  int64     `json:"schema_version"` // the newest migration applied to the database
	Created time.Time `json:"created"`
	Log     LogInfo   `json:"log"`
	Tables  []Table   `json:"tables"`
	Blobs   BlobInfo  `json:"blobs"`
	// Parts lists every file of the archive but the manifest.
	Parts []Part `json:"parts"`
}

// LogInfo describes the transparency log in a backup.
type LogInfo struct {
	Origin  string `json:"origin"`   // the log's name, which is its key's name
	KeyHash string `json:"key_hash"` // the verifier key's hash, as in note keys
	Records int64  `json:"records"`  // records in the dumped database
	// Signed is the size of the tree log/checkpoint signs (0 and no
	// checkpoint for a log that never signed one).
	Signed     int64 `json:"signed"`
	SigningKey bool  `json:"signing_key"` // log/signer.key is included
}

// A Table is a dumped table and its row count.
type Table struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// BlobInfo counts the blobs a backup lists.
type BlobInfo struct {
	Count    int64 `json:"count"`
	Bytes    int64 `json:"bytes"`    // total size of the blobs of known size
	Required int64 `json:"required"` // referenced by a file that is not deleted
	// Missing counts metadata blobs the blob store did not have when the
	// backup was made (their size is -1 in blobs.jsonl).
	Missing int64 `json:"missing_at_backup"`
}

// A Part is one file of the archive.
type Part struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// A Blob is one line of blobs.jsonl.
type Blob struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"` // -1: unknown (missing when the backup was made)
	// Required is true when a file that is not deleted references the
	// blob: the registry serves or scans it.
	Required bool      `json:"required"`
	Refs     []BlobRef `json:"refs"`
}

// A BlobRef is a file's reference to a blob.
type BlobRef struct {
	File      int64  `json:"file"`
	Ecosystem string `json:"ecosystem"`
	Package   string `json:"package"`
	Filename  string `json:"filename"`
	State     string `json:"state"`
	Role      string `json:"role"` // content or metadata
}

func (m *Manifest) part(name string) (Part, bool) {
	for _, p := range m.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

func (m *Manifest) table(name string) (Table, bool) {
	for _, t := range m.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %w", ErrInvalid, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: archive format %d, this trove reads format %d", ErrInvalid, m.Format, Format)
	}
	return &m, nil
}
