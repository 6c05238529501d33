// Package archive is Trove's one reader of uploaded archives: gzip-compressed
// tar (npm tarballs, sdists), plain tar, and zip (wheels, zip sdists, Go
// module zips). It owns everything that is about the archive rather than
// the package inside it — walking entries, entry names, links and devices,
// decompression bombs, and zip files that two readers could read
// differently — under one set of [Limits]. Adapters keep only their
// ecosystem's rules (package.json, dist-info and RECORD, x/mod's CheckZip).
//
// # Entries
//
// [WalkTarGz], [WalkTar] and [Zip.Walk] hand out each entry once, in archive
// order, as an [Entry] whose name passed [CheckName]: a non-empty, valid
// UTF-8, slash-separated relative path of at most [Limits].NameLen bytes
// (components of at most 255), with no leading "/", drive letter,
// backslash, control character (NUL included), "..", "." or empty
// component. Only regular files and directories are handed out: symbolic
// links, hard links, devices, FIFOs and sockets are refused whatever they
// point at, and no caller can allow them. Two entries may not have the same
// name once compared as macOS and Windows compare them (Unicode NFC and
// case folding), a file and a directory may not share a name ("a" and
// "a/"), and no entry may be inside a file.
//
// A tar stream is read to its very end: PAX global headers are skipped but
// may only carry comments, times and owners (records that change names or
// sizes in readers that apply them are refused), sparse files and unknown
// entry types are refused, whatever follows the end-of-archive marker must
// be zeros (no second archive), and the gzip stream is decompressed, under
// the bomb guard, to its checksum.
//
// # Zip archives
//
// [OpenZip] reads the raw bytes before any entry is handed out: the end of
// central directory record (and the zip64 records) must be at the very end
// with nothing after the comment, the entry count is bounded before the
// central directory is read, the local file headers must start at offset
// 0, follow one another contiguously in central-directory order (no data
// before, between or after them, no overlap, no second archive), and agree
// with the central directory on name, flags, method, CRC and sizes, data
// descriptors included. Entries must be stored or deflated, unencrypted,
// with a non-ASCII name only under the UTF-8 flag, and archive/zip must
// then read the same entries at the same offsets.
//
// # Limits and errors
//
// [DefaultLimits] is one choice for every ecosystem: 100,000 entries, 4 GiB
// per file, 8 GiB unpacked in all, names of 1 KiB, and a compression ratio
// of at most 200:1 once more than 16 MiB are unpacked. The sizes are those
// of the largest real packages (machine-learning wheels unpack to several
// GiB, with single libraries of 1-2 GiB); npm tarballs are small, but their
// upload limit (limits.upload_bytes.npm) bounds them, and the ratio bounds
// the work any upload can cause: source compresses 3 to 20 times and
// binaries 2 to 5, deflate's ceiling is about 1,000, and a bomb is refused
// before it is unpacked (zip: from its declared sizes) or as soon as it
// passes the ratio (gzip: while decompressing).
//
// Every error about the archive wraps trove.ErrInvalid (malformed,
// ambiguous or unsafe: 400) or trove.ErrTooLarge (over a limit, a bomb:
// 413, in every ecosystem), and names the entry. Errors reading the
// underlying bytes are returned as they are.
package archive
