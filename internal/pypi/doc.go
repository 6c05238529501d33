// Package pypi serves the Python Package Index protocols to unmodified
// pip and twine: the simple repository API, core metadata files, the
// legacy upload API and the JSON API. It is mounted below a prefix (such
// as /pypi) that mirrors the public index's root:
//
//	GET  /simple/                          project list (PEP 503, PEP 691)
//	GET  /simple/<name>/                   project page; other spellings → 301
//	GET  /packages/<sha256>/<filename>     a distribution file
//	GET  /packages/<sha256>/<filename>.metadata   its core metadata (PEP 658)
//	GET  /pypi/<name>/json                 JSON API, project (latest release)
//	GET  /pypi/<name>/<version>/json       JSON API, one release
//	POST /legacy/                          upload, as twine sends it
//
// Every URL path is parsed by one function, parsePath.
//
// # Reads
//
// Simple pages (HTML per PEP 503/592/658/714 and PEP 691 JSON with PEP 700,
// API version 1.1, chosen by Accept and sent with Vary: Accept) and JSON
// API documents are rendered once per change of their project from
// registry.Project and served from the page cache, with ETags and a gzip
// copy: a cached read does no SQL and no encoding. File URLs name the
// file's SHA-256, so a file's bytes are served with an immutable
// Cache-Control, Range support and, from the filesystem store, sendfile.
// Yanked files stay downloadable and are marked yanked (PEP 592).
//
// # Private projects
//
// Every read of a project asks registry.Service.CanRead first, before
// the page cache, the registry's file lookups and any upstream: a
// private project is read only by those holding a role on it with a
// token carrying read-private. Everyone else gets exactly the answer of
// a name never published (a 404, the same body with the name swapped),
// so that private names stay secret; a private project is local, never
// asked of an upstream. The project list is one page for everyone and
// lists public projects only (registry.Packages). pip must therefore send
// credentials with its first request (in the index URL or a .netrc entry):
// it would never retry a 404 with them. See docs/private-packages.md.
//
// # Uploads
//
// An upload is one multipart/form-data POST per file. The form is read as
// a stream: text fields are bounded (MaxFieldBytes, MaxFormBytes,
// MaxFormParts) and the file is staged by registry.Stage, which computes
// every digest while spooling and stops at Options.MaxUploadBytes. Then:
//
//   - the form must say :action=file_upload, protocol_version=1, a
//     filetype (sdist or bdist_wheel) matching the file's extension, and
//     declare at least one digest, each of which must match the bytes;
//   - the archive is read by internal/archive, which refuses unsafe and
//     ambiguous archives (paths, links, devices, duplicates, zip files
//     that readers could read differently) and bombs (413); a wheel has
//     exactly one .dist-info directory named after the file, and its
//     RECORD lists every file with a matching sha256 hash and size
//     (record.go); an sdist has one top-level directory;
//   - the core metadata (the wheel's METADATA or the sdist's PKG-INFO) is
//     parsed, and its Name and Version must agree with the form and the
//     filename, compared normalized (PEP 503, PEP 440);
//   - what Trove keeps and serves is derived from that metadata, never
//     from the form's metadata fields; a wheel's METADATA is stored
//     byte-exact as its PEP 658 metadata file.
//
// Anything refused gets a 4xx with a message saying what to fix, and
// nothing is stored. An identical re-upload succeeds (uploads are
// idempotent, as on warehouse); other bytes under an existing filename are
// a 409 "File already exists". Upload errors over HTTP/1.x also carry the
// message in the HTTP reason phrase, which is what twine prints
// (reason.go).
//
// # Upstreams
//
// With an upstream client (Options.Upstream), a project that is not local
// (registry.Local) is proxied (proxy.go): its page is the upstream's
// (PEP 691 JSON, or PEP 503 HTML read with a tokenizer, upindex.go)
// rendered again with Trove's URLs, filtered by the curation policy, the
// files Trove imported shown as it holds them. A file is fetched on first
// request, once, verified against the sha256 of the upstream's index,
// read with the checks of an upload (readDist) and imported
// (registry.Import); core metadata files of files not imported yet are
// the upstream's, verified against the index's sha256. See docs/proxy.md.
//
// # Choices
//
// Core metadata files are served as text/plain; charset=utf-8, as PEP
// 658's author suggested (metadata must be UTF-8 to be accepted).
// Distributions are served as application/octet-stream. PEP 740
// attestations are refused rather than stored unverified.
package pypi
