package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// check makes sure the bucket exists and that the credentials can write,
// read and delete under the prefix, and finds out whether the server
// verifies the SHA-256 of uploads (ServerVerifies).
func (s *Store) check(ctx context.Context) error {
	if err := s.checkBucket(ctx); err != nil {
		return err
	}
	rnd := make([]byte, 8)
	rand.Read(rnd)
	key := s.prefix + "probe/" + hex.EncodeToString(rnd)
	data := []byte("trove write probe " + key)
	sum := sha256.Sum256(data)
	if err := s.put(ctx, key, bytes.NewReader(data), int64(len(data)), sum[:]); err != nil {
		return fmt.Errorf("s3: bucket %q is not writable under %q: %w%s", s.bucket, s.prefix, err, hint(err))
	}
	if err := s.probeRead(ctx, key, data); err != nil {
		return err
	}
	// Send other bytes with the same digest: a server that checks it
	// refuses them.
	bad := bytes.Repeat([]byte{'x'}, len(data))
	s.verifies = s.put(ctx, key, bytes.NewReader(bad), int64(len(bad)), sum[:]) != nil
	cctx, cancel := s.call(ctx)
	defer cancel()
	if err := s.client.RemoveObject(cctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3: cannot delete in bucket %q (Trove deletes unreferenced blobs and moves damaged ones): %w%s", s.bucket, err, hint(err))
	}
	return nil
}

// checkBucket lists at most one key under the prefix: unlike a HEAD of
// the bucket, a listing's error names its cause (no such bucket, unknown
// key, wrong secret).
func (s *Store) checkBucket(ctx context.Context) error {
	cctx, cancel := s.call(ctx)
	defer cancel()
	for o := range s.client.ListObjects(cctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1}) {
		err := o.Err
		if minio.ToErrorResponse(err).Code == "NoSuchBucket" {
			return fmt.Errorf("s3: bucket %q does not exist at %s: create it first (Trove never creates buckets), or correct storage.s3.bucket", s.bucket, s.endpoint)
		}
		if err != nil {
			return fmt.Errorf("s3: checking bucket %q at %s: %w%s", s.bucket, s.endpoint, err, hint(err))
		}
		break // one key is enough; cancel stops the listing
	}
	return nil
}

// probeRead reads the probe object back.
func (s *Store) probeRead(ctx context.Context, key string, want []byte) error {
	cctx, cancel := s.call(ctx)
	defer cancel()
	body, _, _, err := s.core.GetObject(cctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("s3: cannot read back from bucket %q: %w%s", s.bucket, err, hint(err))
	}
	defer body.Close()
	got, err := io.ReadAll(io.LimitReader(body, int64(len(want))+1))
	if err != nil {
		return fmt.Errorf("s3: reading back from bucket %q: %w", s.bucket, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("s3: bucket %q returned other bytes than were written to %s", s.bucket, key)
	}
	return nil
}

// hint suggests a fix for the errors a misconfiguration causes.
func hint(err error) string {
	switch minio.ToErrorResponse(err).Code {
	case "InvalidAccessKeyId":
		return " (the access key is unknown to the server: check storage.s3.access_key_file or AWS_ACCESS_KEY_ID)"
	case "SignatureDoesNotMatch":
		return " (the secret key does not match the access key, or storage.s3.region is wrong)"
	case "AccessDenied":
		return " (the key lacks a permission: Trove needs s3:ListBucket on the bucket and s3:GetObject, s3:PutObject and s3:DeleteObject under the prefix)"
	case "AuthorizationHeaderMalformed":
		return " (check storage.s3.region)"
	}
	return ""
}
