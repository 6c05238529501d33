// Package s3blob is a blob.Store on an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW, Garage, versitygw, …), through minio-go.
//
// # Layout
//
// Every key starts with the configured prefix, so that several Troves can
// share one bucket. The layout is the fs store's (fsblob), so a blob
// directory can be copied into a bucket as it is:
//
//	<bucket>/<prefix>
//	├── sha256/
//	│   └── ab/                     first two hex digits of the digest
//	│       └── ab12…ef             the blob, named by its full digest
//	├── damaged/
//	│   └── ab12…ef                 a blob whose bytes no longer match its name,
//	│                               moved aside by Quarantine; a new Commit of
//	│                               the digest removes it
//	├── state/
//	│   └── <name>                  a state object (blob.Store.WriteState)
//	└── probe/
//	    └── <random>                written and deleted by New to check access
//
// # Uploads
//
// A Writer spools the bytes to a local temporary file, hashing them as
// they come, and Commit uploads the file with one PUT once the digest is
// known and matches. The alternative, streaming to a temporary object and
// copying it into place server-side, was rejected: it writes every blob
// twice in the bucket, needs a multipart copy above 5GiB, and leaves
// temporary objects to sweep after a crash. Spooling instead gives:
//
//   - nothing in the bucket until the digest is verified: an aborted or
//     mismatched upload never reaches S3, and a PUT is atomic, so a key
//     under sha256/ only ever names complete, verified bytes;
//   - S3 verifies the bytes too: the PUT is signed with the payload's
//     SHA-256 (x-amz-content-sha256), which is the blob's digest, and
//     carries it as x-amz-checksum-sha256; a server that checks either
//     refuses bytes damaged on the way. New probes whether the server
//     does ([Store.ServerVerifies]);
//   - constant memory per upload (a copy buffer: the body is streamed
//     from the file), and no temporary objects: the spool file is
//     unlinked as soon as it is created, so a crash leaves nothing on
//     disk either.
//
// The cost is local disk for uploads in flight (the upload was already
// spooled once by the registry) and a single PUT per blob, so a blob is
// at most [MaxBlobBytes] (S3's limit for one PUT; Trove's largest
// default upload limit, Go's, is 500MiB). No multipart upload is ever
// started, so no incomplete upload can be left behind in the bucket.
//
// # Reads
//
// Open with an offset is a ranged GET, and its reader seeks (the next read
// after a seek is a new ranged GET), so HTTP range requests served from
// the store read only the range. Open, Stat and Delete translate
// S3's "no such key" into blob.ErrNotFound; a blob moved to damaged/
// answers blob.ErrDamaged. Every call is bounded by the configured
// timeout; a transfer (an upload's body, a download's stream) may take
// longer but is cut once it makes no progress for that long.
//
// # Presigned downloads
//
// With a redirect TTL configured, the store is a blob.Presigner: file
// downloads are answered with a redirect to a presigned GET of the blob,
// valid for the TTL, whose response carries the file's content type and
// an attachment disposition. The URL is signed for GET only; HEAD
// requests are answered by Trove. What changes for integrity: the bytes
// go from S3 straight to the client, so Trove's memory cache, which
// checks each small blob against its digest, is out of the path. Every
// client still checks what it receives (npm the integrity in the
// packument, pip the sha256 in the index URL, the go command its
// checksum database), the scheduled scrub and trove fsck still read and
// check every blob, and PresignGet checks that the blob is in service
// first, so a quarantined blob (moved to damaged/) is never redirected to:
// a URL handed out before the quarantine then answers 404 from S3.
package s3blob
